import { createHmac, randomBytes } from "node:crypto";
import { systemClock, type Clock } from "../../clock.js";
import type { BasicPolicyConfig } from "./basic-policy-config.js";

/** A Basic user as the identity index holds it. `Hash` is whatever the control plane stores (a ScryptPasswordHash). */
export interface BasicUser<Hash> {
  consumerId: string;
  credentialId: string;
  passwordHash: Hash;
}

/** The identity index, as far as this policy needs it; answered from memory. */
export interface BasicUserLookup<Hash> {
  findBasicUser(username: string): BasicUser<Hash> | undefined;
}

/**
 * Checks a password against a stored hash, in constant time for a given hash.
 * `verifyPassword(password, ScryptPasswordHash)` from @tollgate/credentials is the one
 * to inject: the same code the control plane hashes with, so the formats cannot drift.
 */
export type VerifyPassword<Hash> = (password: string, hash: Hash) => Promise<boolean>;

export interface BasicVerifierDependencies<Hash> {
  users: BasicUserLookup<Hash>;
  verifyPassword: VerifyPassword<Hash>;
  /**
   * A hash of a random password, made at start with the same parameters as real
   * ones. Checked when the username is unknown, so that an unknown user takes as
   * long as a wrong password and usernames cannot be enumerated by timing.
   */
  decoyHash?: Hash;
  /** Time for cache expiry; the system clock by default. */
  clock?: Pick<Clock, "epochMs">;
}

export interface BasicAccepted {
  ok: true;
  consumerId: string;
  credentialId: string;
  username: string;
  /** True when a recent successful check was reused instead of hashing again. */
  cached: boolean;
}

export interface BasicRefused {
  ok: false;
  status: 401;
  /** False when the request carried no credential of this kind, so a route with several authenticators may try the next. */
  presented: boolean;
  /** Names neither the password nor, for a wrong password, anything a client could not already know. */
  reason: string;
  wwwAuthenticate: string;
}

export type BasicResult = BasicAccepted | BasicRefused;

export interface BasicVerifier {
  /** Synchronous when the answer is known from memory (no or malformed credentials, a cached success); a Promise when a hash is checked. */
  /** `atMs`: the instant expiries are judged at (the request's arrival, epoch ms); the clock's now by default. */
  verify(authorization: string | undefined, atMs?: number): BasicResult | Promise<BasicResult>;
}

interface CachedSuccess<Hash> {
  user: BasicUser<Hash>;
  expiresAt: number;
}

const basicHeader = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * HTTP Basic (RFC 7617) against hashed passwords.
 *
 * scrypt is slow on purpose (about 30 ms at the control plane's parameters), which
 * would cap a route at a few dozen requests per second per core. A successful check
 * is therefore remembered for `cache.ttlMs` under an HMAC of "username:password" with
 * a key drawn at start and never stored: the cache holds no password, and its keys
 * cannot be attacked offline without that key. A cached success counts only while
 * the user still exists with the very same stored hash, so a password change or
 * removal takes effect on the next request. Failures are never cached.
 */
export function createBasicVerifier<Hash>(config: BasicPolicyConfig, dependencies: BasicVerifierDependencies<Hash>): BasicVerifier {
  const clock = dependencies.clock ?? systemClock;
  const challenge = `Basic realm="${config.realm}", charset="UTF-8"`;
  const refuse = (reason: string, presented = true): BasicRefused => ({ ok: false, status: 401, presented, reason, wwwAuthenticate: challenge });
  const cacheKey = randomBytes(32);
  const cache = new Map<string, CachedSuccess<Hash>>();

  function verify(authorization: string | undefined, atMs: number = clock.epochMs()): BasicResult | Promise<BasicResult> {
    if (authorization === undefined || authorization === "" || !/^basic(?:\s|$)/i.test(authorization)) return refuse("no basic credentials", false);
    const credentials = decodeCredentials(authorization);
    if (credentials === undefined) return refuse("malformed basic credentials");
    const { username, password } = credentials;

    const user = dependencies.users.findBasicUser(username);
    const key = config.cache.ttlMs > 0 ? createHmac("sha256", cacheKey).update(`${username}:${password}`).digest("base64url") : undefined;
    if (user !== undefined && key !== undefined) {
      const hit = cache.get(key);
      if (hit !== undefined) {
        if (hit.expiresAt > atMs && hit.user.credentialId === user.credentialId && hit.user.passwordHash === user.passwordHash) {
          return accept(user, username, true);
        }
        cache.delete(key);
      }
    }

    if (user === undefined) {
      const decoy = dependencies.decoyHash;
      if (decoy === undefined) return refuse("unknown user or wrong password");
      return dependencies.verifyPassword(password, decoy).then(() => refuse("unknown user or wrong password"));
    }
    return dependencies.verifyPassword(password, user.passwordHash).then((matches) => {
      if (!matches) return refuse("unknown user or wrong password");
      if (key !== undefined) remember(key, user);
      return accept(user, username, false);
    });
  }

  function remember(key: string, user: BasicUser<Hash>): void {
    if (cache.size >= config.cache.maxEntries && !cache.has(key)) {
      const oldest = cache.keys().next();
      if (oldest.done !== true) cache.delete(oldest.value);
    }
    cache.set(key, { user, expiresAt: clock.epochMs() + config.cache.ttlMs });
  }

  return { verify };
}

function accept<Hash>(user: BasicUser<Hash>, username: string, cached: boolean): BasicAccepted {
  return { ok: true, consumerId: user.consumerId, credentialId: user.credentialId, username, cached };
}

/** RFC 7617 2: base64 of "user-id:password", the user-id without ':'; UTF-8 (charset="UTF-8", 2.1). */
function decodeCredentials(authorization: string): { username: string; password: string } | undefined {
  const match = basicHeader.exec(authorization);
  if (match === null) return undefined;
  const encoded = match[1] as string;
  if (encoded.length % 4 !== 0) return undefined;
  let decoded: string;
  try {
    decoded = strictUtf8.decode(Buffer.from(encoded, "base64"));
  } catch {
    return undefined;
  }
  const colon = decoded.indexOf(":");
  if (colon <= 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
