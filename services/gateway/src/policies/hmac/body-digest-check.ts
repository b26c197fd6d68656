import { createHash, timingSafeEqual } from "node:crypto";

/** Feeds a request body through SHA-256 as it arrives and compares it with the signed digest at the end. */
export interface BodyDigestCheck {
  update(chunk: Uint8Array): void;
  /** True when the body seen so far hashes to the signed digest; call once, after the last chunk. */
  matches(): boolean;
}

export function createBodyDigestCheck(expected: Buffer): BodyDigestCheck {
  const hash = createHash("sha256");
  return {
    update: (chunk) => void hash.update(chunk),
    matches: () => {
      const actual = hash.digest();
      return actual.length === expected.length && timingSafeEqual(actual, expected);
    },
  };
}
