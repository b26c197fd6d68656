/**
 * KurrentDB (the renamed EventStoreDB) speaks the same gRPC protocol, but the 6.x client
 * only parses the `esdb://` and `esdb+discover://` schemes. The rest of the string
 * (hosts, `tls`, credentials, options) means the same under either name.
 */
export function toEsdbConnectionString(connectionString: string): string {
  const trimmed = connectionString.trim();
  const match = /^kurrent(?:db)?(\+discover)?:\/\//i.exec(trimmed);
  if (match) return `esdb${match[1] ?? ""}://${trimmed.slice(match[0].length)}`;
  if (!/^esdb(\+discover)?:\/\//i.test(trimmed)) {
    throw new TypeError("an EventStoreDB connection string starts with esdb://, esdb+discover://, kurrentdb:// or kurrentdb+discover://");
  }
  return trimmed;
}
