/** Every column of `events`, in the order `toRecordedEvent` reads them. */
export const eventColumns = "position, id, stream_id, revision, type, version, data, metadata, recorded_at";

/**
 * The SELECT for one page of the log: `oldest` gives the first @limit matching events
 * after @from, `newest` the last @limit, newest first. Parameters: @from, @limit, @t0…
 * for event types and @p0… for stream prefixes.
 *
 * Without a type filter a page is a walk along the primary key. With one, each type is
 * read through the (type, position) index and the per-type pages are merged, so a page
 * of a rare type costs a few index seeks rather than a scan of everything before it
 * (the gateway following control-plane events among millions of request events).
 * A stream-prefix filter alone walks the primary key and skips what does not match.
 */
export function readPageSql(end: "oldest" | "newest", typeCount: number, prefixCount: number): string {
  const prefixClause =
    prefixCount === 0
      ? ""
      : ` AND (${Array.from({ length: prefixCount }, (_, i) => `substr(stream_id, 1, length(@p${i})) = @p${i}`).join(" OR ")})`;
  const order = end === "oldest" ? "ORDER BY position" : "ORDER BY position DESC";
  if (typeCount === 0) {
    return `SELECT ${eventColumns} FROM events WHERE position > @from${prefixClause} ${order} LIMIT @limit`;
  }
  const perType = Array.from(
    { length: typeCount },
    (_, i) =>
      `SELECT * FROM (SELECT ${eventColumns} FROM events WHERE type = @t${i} AND position > @from${prefixClause} ${order} LIMIT @limit)`,
  );
  return `SELECT * FROM (${perType.join(" UNION ALL ")}) ${order} LIMIT @limit`;
}
