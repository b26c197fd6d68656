import type { Redis } from "ioredis";

type ClientStream = Redis["stream"];

/**
 * Holds a Redis client's socket writes until the end of the current turn of the event
 * loop (`setImmediate`), so that the commands of every request the gateway handles in
 * one turn leave in one write instead of one write each.
 *
 * Under load a turn handles many requests, and each sends its own command (the
 * quota-only store's are rate-limiter-flexible's): one write syscall on the gateway,
 * one read and one reply write on the Redis server, each a loopback round through the
 * kernel. Held and released together, they cost one write here, and Redis reads them
 * in one go and answers them in one write. The wait is at most the rest of the turn;
 * at a low rate a turn holds one request and nothing changes. Unlike ioredis's
 * auto-pipelining, a batch does not wait for the previous one's replies. (The rate
 * limit store goes further and sends one command for the whole turn: see
 * redis-limiter-store.ts.)
 */
export class TurnWriteCoalescer {
  #held: NonNullable<ClientStream> | null = null;

  constructor(private readonly client: Redis) {}

  /** Call before sending a command. */
  hold(): void {
    if (this.#held !== null) return;
    const stream = this.client.stream as ClientStream | undefined;
    if (stream === undefined || stream === null || !stream.writable) return;
    stream.cork();
    this.#held = stream;
    setImmediate(this.#release);
  }

  readonly #release = (): void => {
    const stream = this.#held;
    this.#held = null;
    stream?.uncork();
  };
}
