import { problems } from "../errors/problem-catalog.js";
import { AuthRefusal, noCredential, type AuthenticatedIdentity, type AuthOutcome, type Authenticator } from "./authenticator.js";
import { PolicyRejection, type PolicyExchange, type PolicyStep } from "./policy-step.js";

/** Whether the gateway's view of the control plane can be trusted yet, and which version it is. */
export interface IdentityState {
  /** False until the index has caught up with the log at start. */
  readonly ready: boolean;
  /** Log position of the last control-plane event applied. */
  readonly version: string;
}

/**
 * The authentication stage of a route: its authenticators in order, any of them
 * sufficing. The first that accepts decides; a credential that one of them refuses
 * does not stop the others (a client may send both a stale API key and a valid
 * token). When none accepts, the answer is 503 if a credential could not be checked,
 * else 401 with the first refusal's reason (or "no credentials"), and a challenge per
 * authenticator in WWW-Authenticate (RFC 9110 11.6.1).
 *
 * Until the identity index has caught up with the log at start, every request is
 * refused with 503: an index that has seen a key issued but not yet its revocation
 * would let a revoked key in.
 */
export function createAuthenticationStep(authenticators: readonly Authenticator[], state: IdentityState): PolicyStep {
  if (authenticators.length === 0) throw new Error("an authentication step needs at least one authenticator");
  const challenges = authenticators.map((authenticator) => authenticator.challenge);
  const missing = new PolicyRejection("auth", problems.unauthorized, "no credentials in the request", [["www-authenticate", challenges]]);
  const notReady = new PolicyRejection("auth", problems.authUnavailable, "the gateway is still loading the control plane's state");

  function refuse(exchange: PolicyExchange, refusals: readonly (AuthRefusal | null)[]): PolicyRejection {
    let first: AuthRefusal | null = null;
    for (const refusal of refusals) {
      if (refusal === null) continue;
      if (first === null || (refusal.status === 503 && first.status !== 503)) first = refusal;
      if (exchange.credentialId === null && refusal.credentialId !== null) {
        exchange.consumerId = refusal.consumerId;
        exchange.credentialId = refusal.credentialId;
      }
    }
    if (first === null) return missing;
    if (first.status === 503) return new PolicyRejection("auth", problems.authUnavailable, first.reason);
    const headers = challenges.map((challenge, index) => refusals[index]?.challenge ?? challenge);
    return new PolicyRejection("auth", problems.unauthorized, first.reason, [["www-authenticate", headers]]);
  }

  function accept(exchange: PolicyExchange, identity: AuthenticatedIdentity, acceptedBy: number): null {
    exchange.identity = identity;
    exchange.consumerId = identity.consumerId;
    exchange.credentialId = identity.credentialId;
    // The authenticators after the one that accepted did not run; their credentials
    // must not reach the upstream either.
    for (let index = acceptedBy + 1; index < authenticators.length; index++) authenticators[index]?.discardCredential?.(exchange);
    return null;
  }

  if (authenticators.every((authenticator) => !authenticator.async)) {
    const only = authenticators.length === 1 ? (authenticators[0] as Authenticator & { async: false }) : null;
    return {
      async: false,
      run(exchange: PolicyExchange): PolicyRejection | null {
        if (!state.ready) return notReady;
        exchange.controlPlaneVersion = state.version;
        if (only !== null) {
          // The common case, one authenticator: no bookkeeping of refusals.
          const outcome = only.authenticate(exchange);
          if (outcome === noCredential) return missing;
          if (outcome instanceof AuthRefusal) return refuse(exchange, [outcome]);
          if (outcome instanceof PolicyRejection) return outcome;
          return accept(exchange, outcome, 0);
        }
        const refusals: (AuthRefusal | null)[] = [];
        for (let index = 0; index < authenticators.length; index++) {
          const outcome = (authenticators[index] as Authenticator & { async: false }).authenticate(exchange);
          if (outcome === noCredential) refusals.push(null);
          else if (outcome instanceof AuthRefusal) refusals.push(outcome);
          else if (outcome instanceof PolicyRejection) return outcome;
          else return accept(exchange, outcome, index);
        }
        return refuse(exchange, refusals);
      },
    };
  }

  return {
    async: true,
    async run(exchange: PolicyExchange): Promise<PolicyRejection | null> {
      if (!state.ready) return notReady;
      const refusals: (AuthRefusal | null)[] = [];
      for (let index = 0; index < authenticators.length; index++) {
        const outcome: AuthOutcome = await (authenticators[index] as Authenticator).authenticate(exchange);
        // Read after the await: the identity the authenticator found is from this version.
        exchange.controlPlaneVersion = state.version;
        if (outcome === noCredential) refusals.push(null);
        else if (outcome instanceof AuthRefusal) refusals.push(outcome);
        else if (outcome instanceof PolicyRejection) return outcome;
        else return accept(exchange, outcome, index);
      }
      return refuse(exchange, refusals);
    },
  };
}
