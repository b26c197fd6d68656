import { consumerEventTypes, streamCategories, type ConsumerEvent } from "@tollgate/events";
import type { Decider } from "../decider.js";
import { decideConsumer, type ConsumerCommand } from "./decide-consumer.js";
import { evolveConsumer, type Consumer } from "./evolve-consumer.js";

export const consumerDecider: Decider<ConsumerCommand, Consumer | null, ConsumerEvent> = {
  category: streamCategories.consumer,
  eventTypes: consumerEventTypes,
  initialState: null,
  evolve: evolveConsumer,
  decide: decideConsumer,
};
