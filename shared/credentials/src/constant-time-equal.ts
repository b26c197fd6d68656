import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Compares two secrets without leaking, through timing, where they first differ or
 * how long the expected one is: both sides are hashed to 32 bytes first, and
 * timingSafeEqual compares the digests in constant time.
 */
export function constantTimeEqual(presented: string | Buffer, expected: string | Buffer): boolean {
  return timingSafeEqual(sha256(presented), sha256(expected));
}

function sha256(value: string | Buffer): Buffer {
  return createHash("sha256").update(value).digest();
}
