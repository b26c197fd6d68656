import { AuthRefusal, noCredential, type AuthOutcome, type Authenticator } from "../authenticator.js";
import type { PolicyRequest } from "../policy-step.js";
import { removeHeader, repeatedValue, singleHeader } from "../request-headers.js";
import type { JwtAuthenticatorConfig } from "./jwt-policy-config.js";
import { createJwtVerifier, type JwtResult, type JwtVerifierDependencies } from "./jwt-verifier.js";

/** Refused before any verifier runs: which of two Authorization lines would another hop read? */
export const repeatedAuthorization = "more than one Authorization header";

/**
 * The JWT verifier as a route authenticator. Asynchronous: jose verifies signatures
 * asynchronously, and a key set may have to be fetched. `hideCredential` removes the
 * token from what is forwarded once it was accepted (and when another authenticator
 * of the route accepted first).
 */
export function createJwtAuthenticator(config: JwtAuthenticatorConfig, dependencies: JwtVerifierDependencies): Authenticator {
  const verifier = createJwtVerifier(config, dependencies);
  const challenge = `Bearer realm="${config.realm}"`;
  return {
    type: "jwt",
    challenge,
    async: true,
    discardCredential(request: PolicyRequest): void {
      if (config.hideCredential) removeHeader(request.headers, "authorization");
    },
    authenticate(request: PolicyRequest): AuthOutcome | Promise<AuthOutcome> {
      const authorization = singleHeader(request.headers, "authorization");
      if (authorization === repeatedValue) return new AuthRefusal(401, repeatedAuthorization, `${challenge}, error="invalid_request"`);
      return verifier.verify(authorization, request.receivedAtMs).then((result) => outcomeOf(result, request, config.hideCredential));
    },
  };
}

function outcomeOf(result: JwtResult, request: PolicyRequest, hideCredential: boolean): AuthOutcome {
  if (!result.ok) return result.presented ? new AuthRefusal(result.status, result.reason, result.wwwAuthenticate ?? null) : noCredential;
  if (hideCredential) removeHeader(request.headers, "authorization");
  return { consumerId: result.consumerId, credentialId: result.credentialId, scopes: result.scopes };
}
