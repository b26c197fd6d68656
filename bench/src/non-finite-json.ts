/**
 * JSON that keeps Infinity and NaN (an unfinished request has an infinite latency; a
 * figure that could not be measured is NaN). Plain JSON would turn both into null.
 */
export function stringifyNonFinite(value: unknown, space?: number): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? (Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity") : v),
    space,
  );
}

export function parseNonFinite(text: string): unknown {
  return JSON.parse(text, (_key, v: unknown) =>
    v === "NaN" ? Number.NaN : v === "Infinity" ? Number.POSITIVE_INFINITY : v === "-Infinity" ? Number.NEGATIVE_INFINITY : v,
  );
}
