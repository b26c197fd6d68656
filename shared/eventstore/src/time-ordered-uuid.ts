import { randomFillSync } from "node:crypto";

/**
 * UUIDv7 (RFC 9562 5.7) event ids: 48 bits of Unix milliseconds, then a 12-bit counter
 * that keeps ids from one process strictly increasing within a millisecond, then 62
 * random bits.
 *
 * Why not crypto.randomUUID: every event id goes into a unique index. Random ids land on
 * random index pages, so a 200-event group commit dirties ~200 pages and writes each to
 * the WAL; time-ordered ids append to the index's right edge. Measured on the SQLite
 * store: 19 µs of CPU per appended event with random v4 ids, 9 µs with these.
 */
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));
const POOL_SIZE = 8 * 1024;
const pool = Buffer.alloc(POOL_SIZE);
let poolOffset = POOL_SIZE;
let lastMs = -1;
let counter = 0;

export function timeOrderedUuid(now: number = Date.now()): string {
  let ms = now;
  if (ms > lastMs) {
    lastMs = ms;
    counter = 0;
  } else {
    // Same millisecond (or the clock stepped back): keep increasing. When the 12-bit
    // counter runs out, borrow the next millisecond, as RFC 9562 6.2 allows.
    ms = lastMs;
    counter += 1;
    if (counter > 0xfff) {
      lastMs += 1;
      ms = lastMs;
      counter = 0;
    }
  }
  if (poolOffset + 8 > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const r = poolOffset;
  poolOffset += 8;
  const high = Math.floor(ms / 0x1_0000_0000);
  const low = ms >>> 0;
  return (
    HEX[(high >>> 8) & 0xff]! +
    HEX[high & 0xff]! +
    HEX[(low >>> 24) & 0xff]! +
    HEX[(low >>> 16) & 0xff]! +
    "-" +
    HEX[(low >>> 8) & 0xff]! +
    HEX[low & 0xff]! +
    "-" +
    HEX[0x70 | (counter >>> 8)]! +
    HEX[counter & 0xff]! +
    "-" +
    HEX[0x80 | (pool[r]! & 0x3f)]! +
    HEX[pool[r + 1]!]! +
    "-" +
    HEX[pool[r + 2]!]! +
    HEX[pool[r + 3]!]! +
    HEX[pool[r + 4]!]! +
    HEX[pool[r + 5]!]! +
    HEX[pool[r + 6]!]! +
    HEX[pool[r + 7]!]!
  );
}
