import { setTimeout as delay } from "node:timers/promises";
import { openEventStore, type EventStoreConfig, type RecordedEvent } from "@tollgate/eventstore";

export interface EventsTailOptions {
  store: EventStoreConfig;
  count: number;
  follow: boolean;
  json: boolean;
  write?: (line: string) => void;
  signal?: AbortSignal;
}

/** `tollgate events tail`: the latest events of the log, oldest first; `--follow` keeps printing new ones. */
export async function tailEvents(options: EventsTailOptions): Promise<void> {
  const write = options.write ?? ((line: string) => process.stdout.write(line + "\n"));
  const { store } = await openEventStore(options.store);
  try {
    const latest = await store.readLatest(options.count);
    for (const event of latest) write(formatEvent(event, options.json));
    if (!options.follow) return;
    const subscription = store.subscribe({ from: latest.at(-1)?.position ?? (await store.headPosition()) });
    options.signal?.addEventListener("abort", () => void subscription.close(), { once: true });
    for await (const event of subscription) write(formatEvent(event, options.json));
    await delay(0);
  } finally {
    await store.close();
  }
}

export function formatEvent(event: RecordedEvent, json: boolean): string {
  if (json) {
    return JSON.stringify({
      position: event.position.toString(),
      streamId: event.streamId,
      revision: event.revision,
      type: event.type,
      version: event.version,
      recordedAt: event.recordedAt.toISOString(),
      data: event.data,
    });
  }
  const data = (event.data ?? {}) as Record<string, unknown>;
  const fields: string[] = [];
  for (const key of ["status", "method", "path", "routeId", "durationMs", "upstreamLatencyMs", "stage", "reason", "error"]) {
    const value = data[key];
    if (value === undefined || value === null) continue;
    if (typeof value === "number") fields.push(`${key}=${Number.isInteger(value) ? value : value.toFixed(2)}`);
    else if (typeof value === "string" || typeof value === "boolean") fields.push(`${key}=${value}`);
  }
  return `#${event.position} ${event.recordedAt.toISOString()} ${event.type} ${fields.join(" ")}`;
}
