import { randomBytes } from "node:crypto";
import { hashPassword, systemEntropy, verifyPassword } from "@tollgate/credentials";
import type { ScryptPasswordHash } from "@tollgate/events";
import { AuthRefusal, noCredential, type AuthOutcome, type Authenticator } from "../authenticator.js";
import { repeatedAuthorization } from "../jwt/jwt-authenticator.js";
import type { PolicyRequest } from "../policy-step.js";
import { removeHeader, repeatedValue, singleHeader } from "../request-headers.js";
import type { BasicAuthenticatorConfig } from "./basic-policy-config.js";
import { createBasicVerifier, type BasicResult, type BasicUserLookup, type BasicVerifierDependencies } from "./basic-verifier.js";

/** A stored hash, or the decoy, which is still being made when the gateway starts. */
type Hash = ScryptPasswordHash | Promise<ScryptPasswordHash>;

let decoy: Promise<ScryptPasswordHash> | undefined;

/**
 * The decoy an unknown username is checked against: a hash of a random password with
 * the control plane's current parameters, made once per process in the background
 * (scrypt is slow and compiling routes is synchronous). A request that needs it before
 * it is ready waits for it, so an unknown user never answers faster.
 */
function decoyHash(): Promise<ScryptPasswordHash> {
  if (decoy === undefined) {
    decoy = hashPassword(randomBytes(24).toString("base64url"), systemEntropy);
    // Handled where it is awaited; this only keeps a failure before the first use from
    // being an unhandled rejection, which would end the process.
    decoy.catch(() => undefined);
  }
  return decoy;
}

const verify = (password: string, hash: Hash): Promise<boolean> =>
  hash instanceof Promise ? hash.then((ready) => verifyPassword(password, ready)) : verifyPassword(password, hash);

/** HTTP Basic against the scrypt hashes the control plane stores; synchronous on a cached success. */
export function createBasicAuthenticator(
  config: BasicAuthenticatorConfig,
  dependencies: { users: BasicUserLookup<ScryptPasswordHash>; clock?: BasicVerifierDependencies<Hash>["clock"] },
): Authenticator {
  const verifier = createBasicVerifier<Hash>(config, { ...dependencies, verifyPassword: verify, decoyHash: decoyHash() });
  const challenge = `Basic realm="${config.realm}", charset="UTF-8"`;
  const outcomeOf = (result: BasicResult, request: PolicyRequest): AuthOutcome => {
    if (!result.ok) return result.presented ? new AuthRefusal(401, result.reason, result.wwwAuthenticate) : noCredential;
    if (config.hideCredential) removeHeader(request.headers, "authorization");
    return { consumerId: result.consumerId, credentialId: result.credentialId, scopes: null };
  };
  return {
    type: "basic",
    challenge,
    async: true,
    discardCredential(request: PolicyRequest): void {
      if (config.hideCredential) removeHeader(request.headers, "authorization");
    },
    authenticate(request: PolicyRequest): AuthOutcome | Promise<AuthOutcome> {
      const authorization = singleHeader(request.headers, "authorization");
      if (authorization === repeatedValue) return new AuthRefusal(401, repeatedAuthorization);
      const result = verifier.verify(authorization, request.receivedAtMs);
      return result instanceof Promise ? result.then((answer) => outcomeOf(answer, request)) : outcomeOf(result, request);
    },
  };
}
