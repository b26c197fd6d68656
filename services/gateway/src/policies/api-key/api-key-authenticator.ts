import { hasApiKeyShape, hashApiKey, isWellFormedApiKey } from "@tollgate/credentials";
import { AuthRefusal, noCredential, type AuthenticatedIdentity, type AuthOutcome, type Authenticator } from "../authenticator.js";
import type { PolicyRequest } from "../policy-step.js";
import { removeHeader, repeatedValue, singleHeader } from "../request-headers.js";
import type { ApiKeyPolicyConfig } from "./api-key-policy-config.js";
import { takeQueryParam } from "./take-query-param.js";

/** One issued key as the identity index holds it, found by the SHA-256 of the key. */
export interface ApiKeyRecord extends AuthenticatedIdentity {
  /** Epoch ms from which the key is refused; Infinity when it does not expire. */
  readonly expiresAtMs: number;
  /** Its credential was revoked: every key of it is refused. */
  readonly revoked: boolean;
  /** A rotation replaced it: it lives only until its overlap window ends (its expiresAtMs). */
  readonly superseded: boolean;
}

/** The identity index, as far as API keys go. Answers from memory: it is called on the request path. */
export interface ApiKeyLookup {
  apiKeyByHash(hash: string): ApiKeyRecord | undefined;
}

/**
 * API keys from a header and/or a query parameter.
 *
 * A request with a valid key costs one SHA-256 of the key and one Map lookup. Keys
 * are found by their hash, never compared as strings: the map's key is a digest of
 * what the client sent, so the time a lookup takes says nothing useful about any
 * issued key (finding a key with a given digest prefix is a preimage search). The
 * stored hash therefore needs no separate constant-time comparison.
 *
 * The key never reaches an event, a log line or the upstream: refusal reasons name
 * the problem, not the key; a key in the query is removed before forwarding, whatever
 * the outcome; a key in the header is removed too, unless hideCredential is false.
 */
export function createApiKeyAuthenticator(config: ApiKeyPolicyConfig, keys: ApiKeyLookup): Authenticator {
  const challenge = `ApiKey realm="${config.realm}"`;
  const invalidChallenge = `${challenge}, error="invalid_key"`;
  const refusal = (reason: string): AuthRefusal => new AuthRefusal(401, reason, invalidChallenge);
  const repeated = refusal("more than one API key in the request");
  const notAKey = refusal("malformed API key: not a Tollgate key (tg_ followed by 49 letters and digits)");
  const badChecksum = refusal("malformed API key: its checksum does not match (mistyped or truncated?)");
  const unknown = refusal("unknown API key");
  const { header, queryParam, hideCredential } = config;

  function readKey(request: PolicyRequest): string | undefined | typeof repeatedValue {
    let key: string | undefined | typeof repeatedValue;
    if (header !== null) {
      key = singleHeader(request.headers, header);
      if (key !== undefined && hideCredential) removeHeader(request.headers, header);
    }
    if (queryParam !== null) {
      const taken = takeQueryParam(request.query, queryParam);
      if (taken.value !== undefined) {
        request.query = taken.query;
        if (key === undefined) key = taken.value;
        else if (key !== taken.value) key = repeatedValue;
      }
    }
    return key;
  }

  return {
    type: "api-key",
    challenge,
    async: false,
    discardCredential(request: PolicyRequest): void {
      readKey(request);
    },
    authenticate(request: PolicyRequest): AuthOutcome {
      const key = readKey(request);
      if (key === undefined) return noCredential;
      if (key === repeatedValue) return repeated;
      // A cheap shape test first: anything else is refused before it is hashed.
      if (!hasApiKeyShape(key)) return notAKey;
      const record = keys.apiKeyByHash(hashApiKey(key));
      if (record === undefined) return isWellFormedApiKey(key) ? unknown : badChecksum;
      if (record.revoked) return new AuthRefusal(401, "API key revoked", invalidChallenge, record.consumerId, record.credentialId);
      if (record.expiresAtMs <= request.receivedAtMs) {
        const reason = record.superseded ? "API key replaced by a rotation whose overlap has ended" : "API key expired";
        return new AuthRefusal(401, reason, invalidChallenge, record.consumerId, record.credentialId);
      }
      return record;
    },
  };
}
