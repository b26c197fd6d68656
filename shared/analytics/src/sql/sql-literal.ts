/**
 * The one function through which a value reaches SQL text.
 *
 * ClickHouse 18.16 has no query parameters, and the same query text runs on ClickHouse
 * and on SQLite, so values are written into the SQL as literals. The two dialects
 * disagree on escapes (ClickHouse treats a backslash as an escape, SQLite does not),
 * so no escaping can be right for both unless the dangerous characters never get in:
 *
 * - strings must match `safeTextPattern` (letters, digits and `._:@/-`; no quote, no
 *   backslash, no whitespace, no control character) and are then quoted; the quote
 *   doubling below is a second guard that can never fire for a valid value;
 * - numbers must be finite; integers are written as integers, others in plain decimal;
 * - bigints are written as they are.
 *
 * Anything else throws `UnsafeSqlValueError`, which the query API maps to 400. Callers
 * validate their inputs with zod first; this is the last gate, and it is the one the
 * injection tests attack directly.
 */
export const safeTextPattern = /^[A-Za-z0-9._:@/-]{1,200}$/;

export class UnsafeSqlValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnsafeSqlValueError";
  }
}

export type SqlValue = string | number | bigint;

export function sqlLiteral(value: SqlValue): string {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new UnsafeSqlValueError(`not a finite number: ${String(value)}`);
    if (Number.isInteger(value)) {
      if (!Number.isSafeInteger(value)) throw new UnsafeSqlValueError(`integer out of the safe range: ${String(value)}`);
      return value.toString();
    }
    // toString never uses exponent notation between 1e-7 and 1e21; outside that, refuse.
    const text = value.toString();
    if (!/^-?\d+\.\d+$/.test(text)) throw new UnsafeSqlValueError(`number not representable as a plain decimal: ${text}`);
    return text;
  }
  if (typeof value !== "string") throw new UnsafeSqlValueError(`unsupported SQL value of type ${typeof value}`);
  if (!safeTextPattern.test(value)) throw new UnsafeSqlValueError("text may only hold 1-200 letters, digits and . _ : @ / -");
  return `'${value.replaceAll("'", "''")}'`;
}

/** A list literal `(a, b, c)` for IN; every element through `sqlLiteral`. */
export function sqlList(values: readonly SqlValue[]): string {
  if (values.length === 0) throw new UnsafeSqlValueError("an empty IN list");
  return `(${values.map(sqlLiteral).join(", ")})`;
}

/** Names of databases and tables come from config, never from a request; checked all the same. */
export function sqlIdentifier(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)) throw new UnsafeSqlValueError(`not a plain identifier: ${JSON.stringify(name)}`);
  return name;
}
