/**
 * Reading and removing fields of the flat `[name, value, …]` header list that the
 * gateway forwards. Names keep the client's case; `lowerName` must be lower-case.
 * Names whose length differs are skipped without lower-casing them, which keeps the
 * common case (the field is not there, or is the only one of that length) cheap.
 */

/** Marks a field (or query parameter) that was sent more than once. */
export const repeatedValue: unique symbol = Symbol("repeated value");

/** The field's value; undefined when absent; `repeatedValue` when it appears more than once. */
export function singleHeader(headers: readonly string[], lowerName: string): string | undefined | typeof repeatedValue {
  let found: string | undefined;
  const length = lowerName.length;
  for (let index = 0; index < headers.length; index += 2) {
    const name = headers[index] as string;
    if (name.length !== length || (name !== lowerName && name.toLowerCase() !== lowerName)) continue;
    if (found !== undefined) return repeatedValue;
    found = headers[index + 1];
  }
  return found;
}

/** Removes every line of the field, in place; returns how many were removed. */
export function removeHeader(headers: string[], lowerName: string): number {
  return removeHeaders(headers, lowerName, lowerName);
}

/**
 * Removes every line of either field, in place, in one pass; returns how many were
 * removed. Nothing is written when neither is present.
 */
export function removeHeaders(headers: string[], firstLowerName: string, secondLowerName: string): number {
  const firstLength = firstLowerName.length;
  const secondLength = secondLowerName.length;
  let write = -1;
  for (let read = 0; read < headers.length; read += 2) {
    const name = headers[read] as string;
    const length = name.length;
    if (length === firstLength || length === secondLength) {
      const lower = name.toLowerCase();
      if (lower === firstLowerName || lower === secondLowerName) {
        if (write === -1) write = read;
        continue;
      }
    }
    if (write !== -1) {
      headers[write] = name;
      headers[write + 1] = headers[read + 1] as string;
      write += 2;
    }
  }
  if (write === -1) return 0;
  const removed = (headers.length - write) / 2;
  headers.length = write;
  return removed;
}
