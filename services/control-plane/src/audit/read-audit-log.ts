import { categoryOf, controlStreamCategories, streamPrefix, type Actor, type ControlStreamCategory } from "@tollgate/events";
import { START, type EventStore, type Position, type RecordedEvent } from "@tollgate/eventstore";

export interface AuditQuery {
  /** A category (`plan`) for every entity of that kind, or a stream (`plan-gold`) for one entity; absent for all. */
  entity?: string;
  /** Only changes recorded at or after this instant. */
  since?: Date;
  /** Only changes made by this actor id (an admin token's name, a consumer id, an apply user). */
  actor?: string;
  /** Resume after this log position (the `next` of a previous page). */
  after?: Position;
  limit: number;
}

export interface AuditEntry {
  position: string;
  at: string;
  entity: { kind: string; id: string };
  /** The entity's version after this change. */
  version: number;
  type: string;
  actor: Actor | null;
  /** The event's data, without its actor and with stored credential material replaced by "[redacted]". */
  change: Record<string, unknown>;
}

export interface AuditPage {
  entries: AuditEntry[];
  /** Pass as `after` for the next page; null when there is none. */
  next: string | null;
}

/** Field names whose values are credential material (hashes, sealed secrets): not secrets, but nothing an audit reader needs. */
const storedMaterialFields = new Set(["hash", "passwordHash", "secret"]);
const pageSize = 500;

/**
 * Who changed what and when, read from the log itself: every control event names its
 * actor, and the store stamps when it was recorded. Nothing else is kept for auditing,
 * so the audit trail cannot disagree with the state it explains.
 */
export async function readAuditLog(store: EventStore, query: AuditQuery): Promise<AuditPage> {
  const matches = (event: RecordedEvent): boolean =>
    (query.since === undefined || event.recordedAt.getTime() >= query.since.getTime()) &&
    (query.actor === undefined || actorOf(event)?.id === query.actor);

  const entries: AuditEntry[] = [];
  if (query.entity?.includes("-")) {
    const events = await store.readStream(query.entity);
    for (const event of events) {
      if (query.after !== undefined && event.position <= query.after) continue;
      if (!matches(event)) continue;
      entries.push(toEntry(event));
      if (entries.length === query.limit) return { entries, next: event.position.toString() };
    }
    return { entries, next: null };
  }

  const categories: readonly ControlStreamCategory[] = query.entity ? [query.entity as ControlStreamCategory] : controlStreamCategories;
  const filter = { streamPrefixes: categories.map((category) => streamPrefix(category)) };
  let from = query.after ?? START;
  for (;;) {
    const page = await store.readAll({ from, limit: pageSize, filter });
    if (page.length === 0) return { entries, next: null };
    for (const event of page) {
      from = event.position;
      if (!matches(event)) continue;
      entries.push(toEntry(event));
      if (entries.length === query.limit) return { entries, next: event.position.toString() };
    }
  }
}

export function isControlCategory(value: string): value is ControlStreamCategory {
  return (controlStreamCategories as readonly string[]).includes(value);
}

function toEntry(event: RecordedEvent): AuditEntry {
  const kind = categoryOf(event.streamId);
  const { actor: _actor, ...data } = (event.data ?? {}) as Record<string, unknown>;
  return {
    position: event.position.toString(),
    at: event.recordedAt.toISOString(),
    entity: { kind, id: event.streamId.slice(kind.length + 1) },
    version: event.revision,
    type: event.type,
    actor: actorOf(event),
    change: redactStoredMaterial(data),
  };
}

function actorOf(event: RecordedEvent): Actor | null {
  const actor = (event.data as { actor?: Actor } | null)?.actor;
  return actor && typeof actor.id === "string" ? actor : null;
}

function redactStoredMaterial(data: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(data).map(([key, value]) => [key, storedMaterialFields.has(key) ? "[redacted]" : value]));
}
