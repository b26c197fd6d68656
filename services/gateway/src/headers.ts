/**
 * Header rules of the proxy, in both directions. Each rule cites where it comes from.
 */

/**
 * Hop-by-hop fields: they describe one connection, never the message, so a proxy
 * must not forward them (RFC 9110 7.6.1 names Connection, Proxy-Connection,
 * Keep-Alive, TE, Transfer-Encoding and Upgrade). Trailer is added because the
 * gateway does not forward trailers; Proxy-Authorization and Proxy-Authenticate
 * because they carry credentials for a proxy (RFC 9110 11.7), which the gateway
 * does not consume and must not leak to an upstream. Every field that a Connection
 * header names is removed as well (RFC 9110 7.6.1).
 */
export const hopByHopHeaders: ReadonlySet<string> = new Set([
  "connection",
  "proxy-connection",
  "keep-alive",
  "te",
  "transfer-encoding",
  "upgrade",
  "trailer",
  "proxy-authorization",
  "proxy-authenticate",
]);

/** What the gateway sends upstream in Via (RFC 9110 7.6.3: a gateway MUST send Via in requests it forwards). */
export const viaToken = "1.1 tollgate";

const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * A client's X-Request-Id is propagated only when it is a plain token: anything
 * else could inject into logs or into the upstream's header parsing, and is
 * replaced by a generated id.
 */
export function isSaneRequestId(value: string): boolean {
  return requestIdPattern.test(value);
}

/** The field names a Connection header lists (RFC 9110 7.6.1), lower-case. */
export function connectionTokens(value: string): string[] {
  const tokens: string[] = [];
  for (const part of value.split(",")) {
    const token = part.trim().toLowerCase();
    if (token.length > 0) tokens.push(token);
  }
  return tokens;
}

const enum Rule {
  Forward,
  Drop,
  Host,
  ContentLength,
  TransferEncoding,
  Connection,
  RequestId,
  ForwardedFor,
  ForwardedProto,
  ForwardedHost,
  TrustedOnly,
  Via,
}

const requestRules = new Map<string, Rule>([
  ["host", Rule.Host],
  ["content-length", Rule.ContentLength],
  ["transfer-encoding", Rule.TransferEncoding],
  ["connection", Rule.Connection],
  ["proxy-connection", Rule.Drop],
  ["keep-alive", Rule.Drop],
  ["te", Rule.Drop],
  ["upgrade", Rule.Drop],
  ["trailer", Rule.Drop],
  ["proxy-authorization", Rule.Drop],
  // The gateway answers `Expect: 100-continue` itself (Node sends the 100), so the
  // expectation has been met on this hop; forwarding it would make the upstream
  // wait for a body that is already on its way.
  ["expect", Rule.Drop],
  ["x-request-id", Rule.RequestId],
  ["x-forwarded-for", Rule.ForwardedFor],
  ["x-forwarded-proto", Rule.ForwardedProto],
  ["x-forwarded-host", Rule.ForwardedHost],
  // Other spellings of "who the client is" (RFC 7239 Forwarded, nginx's X-Real-IP):
  // forwarded only from trusted peers, or an upstream that reads them is lied to.
  ["forwarded", Rule.TrustedOnly],
  ["x-real-ip", Rule.TrustedOnly],
  ["via", Rule.Via],
]);

/** The request head, read in one pass over the raw header lines. */
export class RequestHead {
  /** Flat [name, value, …] list to send upstream; forwarding headers are appended later. */
  readonly headers: string[] = [];
  host: string | undefined = undefined;
  hostCount = 0;
  contentLength: string | undefined = undefined;
  contentLengthCount = 0;
  transferEncoding: string | undefined = undefined;
  transferEncodingCount = 0;
  connection: string | undefined = undefined;
  requestId: string | undefined = undefined;
  forwardedFor: string | undefined = undefined;
  forwardedProto: string | undefined = undefined;
  forwardedHost: string | undefined = undefined;
  via: string | undefined = undefined;
}

/**
 * Reads the client's headers (Node's rawHeaders: original case, duplicates kept)
 * into what is forwarded and what the gateway needs to decide: Host, framing and
 * forwarding fields. Hop-by-hop fields are dropped here, including those the
 * Connection header names, whichever order the lines came in.
 */
export function scanRequestHeaders(raw: readonly string[], trustedPeer: boolean): RequestHead {
  const head = new RequestHead();
  const out = head.headers;
  for (let index = 0; index < raw.length; index += 2) {
    const name = raw[index] as string;
    const value = raw[index + 1] as string;
    const lower = name.toLowerCase();
    switch (requestRules.get(lower) ?? Rule.Forward) {
      case Rule.Forward:
        out.push(name, value);
        break;
      case Rule.Drop:
        break;
      case Rule.Host:
        head.hostCount++;
        head.host ??= value;
        break;
      case Rule.ContentLength:
        head.contentLengthCount++;
        head.contentLength ??= value;
        out.push(name, value);
        break;
      case Rule.TransferEncoding:
        head.transferEncodingCount++;
        head.transferEncoding = head.transferEncoding === undefined ? value : `${head.transferEncoding}, ${value}`;
        break;
      case Rule.Connection:
        head.connection = head.connection === undefined ? value : `${head.connection}, ${value}`;
        break;
      case Rule.RequestId:
        head.requestId ??= value;
        break;
      case Rule.ForwardedFor:
        head.forwardedFor = head.forwardedFor === undefined ? value : `${head.forwardedFor}, ${value}`;
        break;
      case Rule.ForwardedProto:
        head.forwardedProto ??= value;
        break;
      case Rule.ForwardedHost:
        head.forwardedHost ??= value;
        break;
      case Rule.TrustedOnly:
        if (trustedPeer) out.push(name, value);
        break;
      case Rule.Via:
        head.via = head.via === undefined ? value : `${head.via}, ${value}`;
        break;
    }
  }
  if (head.connection !== undefined && !onlyConnectionOptions(head.connection)) dropConnectionNamed(head, connectionTokens(head.connection));
  return head;
}

/**
 * A field named in Connection belongs to the client's hop and goes no further. The
 * fields the gateway itself sets (X-Forwarded-*, X-Request-Id, Via, Host) are set
 * after this step, so naming them in Connection can strip only the client's values,
 * never the gateway's.
 */
function dropConnectionNamed(head: RequestHead, tokens: readonly string[]): void {
  const named = new Set<string>();
  for (const token of tokens) {
    if (token === "close" || token === "keep-alive") continue;
    named.add(token);
    if (token === "x-request-id") head.requestId = undefined;
    else if (token === "x-forwarded-for") head.forwardedFor = undefined;
    else if (token === "x-forwarded-proto") head.forwardedProto = undefined;
    else if (token === "x-forwarded-host") head.forwardedHost = undefined;
    else if (token === "via") head.via = undefined;
  }
  if (named.size === 0) return;
  const kept: string[] = [];
  const headers = head.headers;
  for (let index = 0; index < headers.length; index += 2) {
    const name = headers[index] as string;
    if (!named.has(name.toLowerCase())) kept.push(name, headers[index + 1] as string);
  }
  headers.length = 0;
  for (const entry of kept) headers.push(entry);
}

export interface ForwardingFacts {
  /** The socket peer's address. */
  peer: string;
  /** Whether the peer may speak for the client (trustProxy). */
  trustedPeer: boolean;
  requestId: string;
  /** Scheme the client used to reach the gateway. */
  proto: "http" | "https";
}

/**
 * X-Forwarded-For/-Proto/-Host (de facto standard; RFC 7239 is the standardized
 * form). From an untrusted peer, whatever the client sent is replaced by what the
 * gateway saw; from a trusted peer the chain is kept and the peer appended.
 */
export function appendForwardingHeaders(head: RequestHead, facts: ForwardingFacts): void {
  const out = head.headers;
  const trusted = facts.trustedPeer;
  out.push("x-forwarded-for", trusted && head.forwardedFor !== undefined ? `${head.forwardedFor}, ${facts.peer}` : facts.peer);
  out.push("x-forwarded-proto", trusted && head.forwardedProto !== undefined ? head.forwardedProto : facts.proto);
  const forwardedHost = trusted && head.forwardedHost !== undefined ? head.forwardedHost : head.host;
  if (forwardedHost !== undefined && forwardedHost !== "") out.push("x-forwarded-host", forwardedHost);
  out.push("x-request-id", facts.requestId);
  out.push("via", head.via === undefined ? viaToken : `${head.via}, ${viaToken}`);
}

/**
 * The upstream's response headers as sent to the client: hop-by-hop fields and
 * those its Connection header names are removed (RFC 9110 7.6.1), the upstream's
 * own X-Request-Id gives way to the gateway's, and `Connection: close` is added
 * while the gateway drains for shutdown. Buffers are read as latin1, which keeps
 * every header byte as it was (Node writes header strings back as latin1).
 */
export function buildResponseHeaders(raw: readonly (Buffer | string)[], requestId: string, closeConnection: boolean): string[] {
  const out: string[] = [];
  let connection: string | undefined;
  for (let index = 0; index < raw.length; index += 2) {
    const name = raw[index] as Buffer | string;
    const value = raw[index + 1] as Buffer | string;
    const nameText = typeof name === "string" ? name : name.toString("latin1");
    const lower = nameText.toLowerCase();
    const valueText = typeof value === "string" ? value : value.toString("latin1");
    if (lower === "connection") {
      connection = connection === undefined ? valueText : `${connection}, ${valueText}`;
    } else if (!hopByHopHeaders.has(lower) && lower !== "x-request-id") {
      out.push(nameText, valueText);
    }
  }
  if (connection !== undefined && !onlyConnectionOptions(connection)) removeNamed(out, connectionTokens(connection));
  out.push("x-request-id", requestId);
  if (closeConnection) out.push("connection", "close");
  return out;
}

/** The common case, `Connection: keep-alive` (or close), names no header to remove. */
function onlyConnectionOptions(value: string): boolean {
  const lower = value.length <= 10 ? value.toLowerCase() : "";
  return lower === "keep-alive" || lower === "close";
}

function removeNamed(headers: string[], tokens: readonly string[]): void {
  const named = new Set(tokens.filter((token) => token !== "close" && token !== "keep-alive"));
  if (named.size === 0) return;
  let write = 0;
  for (let read = 0; read < headers.length; read += 2) {
    const name = headers[read] as string;
    if (named.has(name.toLowerCase())) continue;
    headers[write] = name;
    headers[write + 1] = headers[read + 1] as string;
    write += 2;
  }
  headers.length = write;
}
