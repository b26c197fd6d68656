import { createHmac, timingSafeEqual } from "node:crypto";
import { systemClock, type Clock } from "../../clock.js";
import { createBodyDigestCheck } from "./body-digest-check.js";
import { alwaysSigned, type HmacPolicyConfig } from "./hmac-policy-config.js";
import { NonceCache } from "./nonce-cache.js";
import { canonicalPath, canonicalQuery, createStringToSign, hmacScheme } from "./string-to-sign.js";

/** A signing secret as the identity index holds it, opened from its sealed form. */
export interface HmacKey {
  consumerId: string;
  credentialId: string;
  /** The HMAC key: the issued secret's UTF-8 bytes (`tgs_…`), as SecretBox.open returns them. */
  secret: Buffer;
}

/** The identity index, as far as this policy needs it; answered from memory. */
export interface HmacKeyLookup {
  findHmacKey(keyId: string): HmacKey | undefined;
}

export interface HmacVerifierDependencies {
  keys: HmacKeyLookup;
  /** Time for the skew check and nonce expiry; the system clock by default. */
  clock?: Pick<Clock, "epochMs">;
}

/** The request head, as the client sent it. */
export interface SignedRequestHead {
  method: string;
  /** The request target as received (`req.url`): origin form `/path?query`, or absolute form. */
  target: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface HmacAccepted {
  ok: true;
  consumerId: string;
  credentialId: string;
  keyId: string;
  /** The SHA-256 the body must hash to; verifyHead's caller must check it before forwarding (createBodyDigestCheck). */
  bodyDigest: Buffer;
}

export interface HmacRefused {
  ok: false;
  /** 401: the signature is missing, malformed, wrong, stale or replayed; 503: the nonce cache is full (fail closed). */
  status: 401 | 503;
  /** False when the request carried no credential of this kind, so a route with several authenticators may try the next. */
  presented: boolean;
  /** Never contains the secret or the signature. */
  reason: string;
  wwwAuthenticate?: string;
}

export type HmacResult = HmacAccepted | HmacRefused;

export interface HmacVerifier {
  /**
   * Checks everything but the body: signature, date, nonce. Consumes the nonce when
   * the signature is good, so the body check must follow; a body that does not match
   * makes the request fail, and its nonce stays used. `atMs`: the instant the date is
   * judged at (the request's arrival, epoch ms); the clock's now by default.
   */
  verifyHead(head: SignedRequestHead, atMs?: number): HmacResult;
  /** verifyHead, then the buffered body against the signed digest. */
  verify(head: SignedRequestHead, body: Buffer, atMs?: number): HmacResult;
}

const keyIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const noncePattern = /^[A-Za-z0-9_-]{16,128}$/;
const signaturePattern = /^[A-Za-z0-9+/]{43}=$/;
const digestPattern = /^[A-Za-z0-9+/]{43}=$/;
const headerNamePattern = /^[a-z0-9!#$%&'*+.^_`|~-]{1,100}$/;
const datePattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const parameterPattern = /^([A-Za-z]+)="([^"\\]*)"$/;
const absoluteForm = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;

interface SignatureParameters {
  keyId: string;
  nonce: string;
  headers: string[];
  signature: string;
}

/**
 * HMAC-SHA256 request signatures (docs/hmac-signing.md). The signature covers the
 * key id, a nonce, X-Tollgate-Date, the method, path and canonical query, the body's
 * SHA-256 (Content-Digest, RFC 9530) and the headers the client lists. A request is
 * accepted once: its date must be within the skew window and its nonce unseen within
 * that window. Everything is answered from memory, synchronously.
 *
 * Checks run cheapest first, the secret is used only after the request is well
 * formed and fresh, and the nonce is recorded only for a good signature, so an
 * attacker without the secret cannot fill the nonce cache.
 */
export function createHmacVerifier(config: HmacPolicyConfig, dependencies: HmacVerifierDependencies): HmacVerifier {
  const clock = dependencies.clock ?? systemClock;
  const skewMs = config.maxClockSkewSeconds * 1000;
  const challenge = `${hmacScheme} realm="${config.realm}"`;
  const nonces = new NonceCache(config.nonceCacheMaxEntries);
  const refuse = (reason: string, presented = true): HmacRefused => ({ ok: false, status: 401, presented, reason, wwwAuthenticate: challenge });

  function verifyHead(head: SignedRequestHead, atMs: number = clock.epochMs()): HmacResult {
    const authorization = single(head.headers["authorization"]);
    if (authorization === undefined || !authorization.toUpperCase().startsWith(`${hmacScheme} `)) return refuse("no request signature", false);
    const parameters = parseParameters(authorization.slice(hmacScheme.length + 1));
    if (parameters === undefined) return refuse("malformed signature parameters");
    for (const name of config.requiredSignedHeaders) {
      if (!parameters.headers.includes(name)) return refuse(`the signature must cover the ${name} header`);
    }

    const date = single(head.headers["x-tollgate-date"]);
    if (date === undefined) return refuse("missing X-Tollgate-Date");
    const signedAt = parseDate(date);
    if (signedAt === undefined) return refuse("malformed X-Tollgate-Date");
    const now = atMs;
    if (Math.abs(now - signedAt) > skewMs) return refuse("X-Tollgate-Date is outside the allowed clock skew");

    const digest = sha256Member(single(head.headers["content-digest"]));
    if (digest === undefined) return refuse("missing or malformed Content-Digest (sha-256 required)");

    const { path, query } = splitTarget(head.target);
    const signedPath = canonicalPath(path);
    const signedQuery = canonicalQuery(query);
    if (signedPath === undefined || signedQuery === undefined) return refuse("malformed percent-encoding in the request target");

    const signedHeaders: [string, string][] = [];
    for (const name of parameters.headers) {
      const value = head.headers[name];
      if (value === undefined) return refuse(`signed header ${name} is missing`);
      signedHeaders.push([name, (Array.isArray(value) ? value.join(", ") : value).trim()]);
    }

    const key = dependencies.keys.findHmacKey(parameters.keyId);
    if (key === undefined) return refuse("unknown signing key");
    const stringToSign = createStringToSign({
      keyId: parameters.keyId,
      nonce: parameters.nonce,
      date,
      method: head.method,
      path: signedPath,
      query: signedQuery,
      bodyDigest: digest,
      headers: signedHeaders,
    });
    const expected = createHmac("sha256", key.secret).update(stringToSign, "utf8").digest();
    if (!timingSafeEqual(expected, Buffer.from(parameters.signature, "base64"))) return refuse("signature does not match");

    const claim = nonces.claim(`${parameters.keyId}\n${parameters.nonce}`, signedAt + skewMs, now);
    if (claim === "replayed") return refuse("nonce already used (replayed request)");
    if (claim === "full") return { ok: false, status: 503, presented: true, reason: "too many signed requests in the skew window to remember their nonces" };
    return { ok: true, consumerId: key.consumerId, credentialId: key.credentialId, keyId: parameters.keyId, bodyDigest: Buffer.from(digest, "base64") };
  }

  function verify(head: SignedRequestHead, body: Buffer, atMs?: number): HmacResult {
    const result = verifyHead(head, atMs);
    if (!result.ok) return result;
    const check = createBodyDigestCheck(result.bodyDigest);
    check.update(body);
    return check.matches() ? result : refuse("body does not match Content-Digest");
  }

  return { verifyHead, verify };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? (value.length === 1 ? value[0] : undefined) : value;
}

/** `keyId="…", nonce="…", headers="a;b", signature="…"`: each once, no others, no escapes. */
function parseParameters(text: string): SignatureParameters | undefined {
  const values = new Map<string, string>();
  for (const part of text.split(",")) {
    const match = parameterPattern.exec(part.trim());
    if (match === null) return undefined;
    const [, name, value] = match as unknown as [string, string, string];
    if (values.has(name) || !["keyId", "nonce", "headers", "signature"].includes(name)) return undefined;
    values.set(name, value);
  }
  const keyId = values.get("keyId");
  const nonce = values.get("nonce");
  const signature = values.get("signature");
  if (keyId === undefined || !keyIdPattern.test(keyId)) return undefined;
  if (nonce === undefined || !noncePattern.test(nonce)) return undefined;
  if (signature === undefined || !signaturePattern.test(signature)) return undefined;
  const listed = values.get("headers") ?? "";
  const headers = listed === "" ? [] : listed.split(";");
  if (new Set(headers).size !== headers.length) return undefined;
  if (headers.some((name) => !headerNamePattern.test(name) || alwaysSigned.has(name))) return undefined;
  return { keyId, nonce, headers, signature };
}

/** `YYYY-MM-DDTHH:MM:SSZ` naming a real instant (no 2025-02-30). */
function parseDate(value: string): number | undefined {
  if (!datePattern.test(value)) return undefined;
  const epochMs = Date.parse(value);
  if (Number.isNaN(epochMs) || new Date(epochMs).toISOString() !== `${value.slice(0, 19)}.000Z`) return undefined;
  return epochMs;
}

/** The `sha-256` member of a Content-Digest dictionary (RFC 9530 2): `sha-256=:<base64>:`, other members ignored. */
function sha256Member(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  let found: string | undefined;
  for (const member of header.split(",")) {
    const trimmed = member.trim();
    if (!trimmed.toLowerCase().startsWith("sha-256=")) continue;
    const digest = /^sha-256=:([^:]*):$/i.exec(trimmed)?.[1];
    if (found !== undefined || digest === undefined || !digestPattern.test(digest)) return undefined;
    found = digest;
  }
  return found;
}

function splitTarget(target: string): { path: string; query: string } {
  const originForm = target.replace(absoluteForm, "");
  const hash = originForm.indexOf("#");
  const withoutFragment = hash === -1 ? originForm : originForm.slice(0, hash);
  const question = withoutFragment.indexOf("?");
  return question === -1 ? { path: withoutFragment, query: "" } : { path: withoutFragment.slice(0, question), query: withoutFragment.slice(question + 1) };
}
