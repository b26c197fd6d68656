import { AuthRefusal, noCredential, type AuthOutcome, type Authenticator } from "../authenticator.js";
import { repeatedAuthorization } from "../jwt/jwt-authenticator.js";
import type { PolicyRequest } from "../policy-step.js";
import { removeHeader, repeatedValue, singleHeader } from "../request-headers.js";
import type { IntrospectionAuthenticatorConfig } from "./introspection-policy-config.js";
import { createIntrospectionVerifier, type IntrospectionResult, type IntrospectionVerifierDependencies } from "./introspection-verifier.js";

/** The introspection verifier as a route authenticator, with its pool's close for shutdown. */
export type IntrospectionAuthenticator = Authenticator & { close(): Promise<void> };

/**
 * Opaque Bearer tokens checked at the authorization server (RFC 7662). Synchronous
 * on a cache hit; a Promise only when the server is asked.
 */
export function createIntrospectionAuthenticator(config: IntrospectionAuthenticatorConfig, dependencies: IntrospectionVerifierDependencies): IntrospectionAuthenticator {
  const verifier = createIntrospectionVerifier(config, dependencies);
  const challenge = `Bearer realm="${config.realm}"`;
  const outcomeOf = (result: IntrospectionResult, request: PolicyRequest): AuthOutcome => {
    if (!result.ok) return result.presented ? new AuthRefusal(result.status, result.reason, result.wwwAuthenticate ?? null) : noCredential;
    if (config.hideCredential) removeHeader(request.headers, "authorization");
    return { consumerId: result.consumerId, credentialId: result.credentialId, scopes: result.scopes };
  };
  return {
    type: "introspection",
    challenge,
    async: true,
    close: () => verifier.close(),
    discardCredential(request: PolicyRequest): void {
      if (config.hideCredential) removeHeader(request.headers, "authorization");
    },
    authenticate(request: PolicyRequest): AuthOutcome | Promise<AuthOutcome> {
      const authorization = singleHeader(request.headers, "authorization");
      if (authorization === repeatedValue) return new AuthRefusal(401, repeatedAuthorization, `${challenge}, error="invalid_request"`);
      const result = verifier.verify(authorization, request.receivedAtMs);
      return result instanceof Promise ? result.then((answer) => outcomeOf(answer, request)) : outcomeOf(result, request);
    },
  };
}
