import type { PolicyRejection, PolicyRequest } from "./policy-step.js";

/** Who sent a request, as an authenticator established it from the control plane's state. */
export interface AuthenticatedIdentity {
  readonly consumerId: string;
  readonly credentialId: string;
  /**
   * Scopes the credential itself carries (a token's `scope` claim), or null when it
   * carries none (API keys, Basic): authorization then relies on the plan's scopes alone.
   */
  readonly scopes: readonly string[] | null;
}

/** Returned by an authenticator that found no credential of its kind in the request. */
export const noCredential: unique symbol = Symbol("no credential");

/**
 * A credential of the authenticator's kind was presented and refused. `reason` goes to
 * the event and the problem's detail: it never contains the credential.
 */
export class AuthRefusal {
  constructor(
    /** 401: not a valid credential; 503: it could not be checked now (a key set that cannot be fetched). */
    readonly status: 401 | 503,
    readonly reason: string,
    /** The WWW-Authenticate challenge for this refusal (e.g. with `error="invalid_token"`); null: the authenticator's own. */
    readonly challenge: string | null = null,
    /** Set when the credential was recognised (revoked, expired), so that the event can name it. */
    readonly consumerId: string | null = null,
    readonly credentialId: string | null = null,
  ) {}
}

/**
 * A PolicyRejection ends the chain at once, whatever the route's other authenticators
 * could say: the request itself cannot go on (an HMAC-signed body over the size cap,
 * already partly read, so it could no longer be forwarded whole).
 */
export type AuthOutcome = AuthenticatedIdentity | AuthRefusal | typeof noCredential | PolicyRejection;

/**
 * One way of authenticating (API key, JWT, introspection, Basic, HMAC). A route lists
 * one or more; the first that accepts wins. Built once at config load.
 */
export type Authenticator = {
  /** The `type` of its route config entry, e.g. "api-key". */
  readonly type: string;
  /** Its WWW-Authenticate challenge (RFC 9110 11.6.1), sent with every 401 of a route that lists it. */
  readonly challenge: string;
  /**
   * Removes this authenticator's credential from what is forwarded, when another
   * authenticator of the route accepted the request before this one ran.
   */
  discardCredential?(request: PolicyRequest): void;
} & (
  | { readonly async: false; authenticate(request: PolicyRequest): AuthOutcome }
  | { readonly async: true; authenticate(request: PolicyRequest): AuthOutcome | Promise<AuthOutcome> }
);
