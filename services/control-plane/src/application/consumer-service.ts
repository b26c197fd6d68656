import type { ConsumerProfile } from "@tollgate/events";
import { consumerDecider } from "../domain/consumer/consumer-decider.js";
import type { ConsumerCommand } from "../domain/consumer/decide-consumer.js";
import { consumerView, type ConsumerView } from "./entity-views.js";
import { loadEntityRecord } from "./load-entity-record.js";
import { notFound, readAfterWrite, type ServiceContext, type WriteOptions } from "./service-context.js";

export class ConsumerService {
  constructor(private readonly context: ServiceContext) {}

  list(): ConsumerView[] {
    return this.context.readModel.listConsumers().map(consumerView);
  }

  async get(consumerId: string, asOf?: Date): Promise<ConsumerView> {
    const record = asOf
      ? await loadEntityRecord(this.context.store, consumerDecider, consumerId, asOf)
      : this.context.readModel.consumer(consumerId);
    if (!record) throw notFound("consumer", consumerId);
    return consumerView(record);
  }

  register(consumerId: string | undefined, profile: ConsumerProfile, options: WriteOptions): Promise<ConsumerView> {
    const id = consumerId ?? this.context.ids.entityId("cons");
    return this.#execute(id, { type: "RegisterConsumer", consumerId: id, profile }, options);
  }

  update(consumerId: string, changes: Partial<ConsumerProfile>, options: WriteOptions): Promise<ConsumerView> {
    return this.#execute(consumerId, { type: "UpdateConsumer", consumerId, changes }, options);
  }

  async #execute(consumerId: string, command: ConsumerCommand, options: WriteOptions): Promise<ConsumerView> {
    const result = await this.context.commands.execute(consumerDecider, consumerId, command, options);
    const record = await readAfterWrite(
      this.context,
      result.position,
      () => this.context.readModel.consumer(consumerId),
      () => loadEntityRecord(this.context.store, consumerDecider, consumerId),
    );
    return consumerView(record);
  }
}
