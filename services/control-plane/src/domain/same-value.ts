import { isDeepStrictEqual } from "node:util";

/** Structural equality of JSON-shaped values, the way they round-trip through the log. */
export function sameValue(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(a, b);
}
