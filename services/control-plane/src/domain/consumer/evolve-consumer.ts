import type { ConsumerEvent, ConsumerProfile } from "@tollgate/events";

export interface Consumer extends ConsumerProfile {
  consumerId: string;
}

/** Folds one consumer event; `null` is a consumer that is not registered yet. */
export function evolveConsumer(state: Consumer | null, event: ConsumerEvent): Consumer | null {
  switch (event.type) {
    case "ConsumerRegistered": {
      const { actor: _actor, ...consumer } = event.data;
      return consumer;
    }
    case "ConsumerUpdated":
      return state && { ...state, ...event.data.changes };
  }
}
