import { z } from "zod";

/** How a service reaches the event log. Shared by every service so they all agree. */
export const EventStoreConfig = z
  .discriminatedUnion("kind", [
    z.object({
      kind: z.literal("sqlite").describe("Embedded default: one SQLite file in WAL mode, shared by every local process"),
      file: z.string().min(1).default("./data/events.db").describe("Path of the SQLite file; its folder is created"),
      synchronous: z
        .enum(["normal", "full"])
        .default("normal")
        .describe("normal: survives a process crash; full: also survives an OS crash or power loss, at a cost"),
      busyTimeoutMs: z.number().int().min(0).max(60_000).default(5_000).describe("How long a writer waits for the lock"),
    }),
    z.object({
      kind: z.literal("eventstoredb").describe("Production: an EventStoreDB / KurrentDB cluster"),
      connectionString: z.string().min(1).describe("esdb:// or kurrentdb:// connection string"),
    }),
  ])
  .describe("The event log");

export type EventStoreConfig = z.infer<typeof EventStoreConfig>;
