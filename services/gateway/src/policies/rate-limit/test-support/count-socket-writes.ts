import type { Redis } from "ioredis";

/** Counts the writes that reach an ioredis client's socket (a corked socket hands its chunks to _writev in one call). */
export function countSocketWrites(client: Redis): { count: () => number } {
  const stream = client.stream as unknown as { _write: (...args: unknown[]) => void; _writev: (...args: unknown[]) => void };
  let writes = 0;
  const write = stream._write.bind(stream);
  const writev = stream._writev.bind(stream);
  stream._write = (...args) => {
    writes++;
    write(...args);
  };
  stream._writev = (...args) => {
    writes++;
    writev(...args);
  };
  return { count: () => writes };
}
