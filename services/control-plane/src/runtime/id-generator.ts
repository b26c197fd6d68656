import { randomBytes, randomUUID } from "node:crypto";

/** Where ids come from. Injected so that tests assert exact events. */
export interface IdGenerator {
  /** Unique per event; the store uses it to make a retried append idempotent. */
  eventId(): string;
  /** A new entity id, `<prefix>_<random>`, e.g. `cred_8Jx2…`. */
  entityId(prefix: string): string;
}

export const randomIds: IdGenerator = {
  eventId: () => randomUUID(),
  entityId: (prefix) => `${prefix}_${randomBytes(12).toString("base64url")}`,
};

/** Deterministic ids for tests: `evt-1`, `evt-2`, …, and `<prefix>_1`, `<prefix>_2`, …. */
export function sequentialIds(): IdGenerator {
  let events = 0;
  const entities = new Map<string, number>();
  return {
    eventId: () => `evt-${++events}`,
    entityId: (prefix) => {
      const next = (entities.get(prefix) ?? 0) + 1;
      entities.set(prefix, next);
      return `${prefix}_${next}`;
    },
  };
}
