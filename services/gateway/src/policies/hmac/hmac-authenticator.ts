import { problems } from "../../errors/problem-catalog.js";
import { AuthRefusal, noCredential, type AuthOutcome, type Authenticator } from "../authenticator.js";
import { repeatedAuthorization } from "../jwt/jwt-authenticator.js";
import { PolicyRejection, type PolicyRequest } from "../policy-step.js";
import { removeHeader, repeatedValue, singleHeader } from "../request-headers.js";
import { createBodyDigestCheck } from "./body-digest-check.js";
import type { HmacAuthenticatorConfig } from "./hmac-policy-config.js";
import { createHmacVerifier, type HmacVerifierDependencies } from "./hmac-verifier.js";
import { readRequestBody } from "./read-request-body.js";
import { HmacSecretUnavailableError } from "./sealed-hmac-key-lookup.js";

/**
 * HMAC request signatures as a route authenticator.
 *
 * The head is checked first, synchronously (signature, date, nonce). Only a request
 * whose signature holds has its body read: into memory, at most `maxBodyBytes`, and
 * checked against the signed digest before anything is forwarded. The body read is
 * then what the upstream receives (`bodyOverride`), so it never gets a byte the
 * signature does not cover. A body over the cap ends the request with 413 and closes
 * the connection, the rest of the body left unread.
 */
export function createHmacAuthenticator(config: HmacAuthenticatorConfig, dependencies: HmacVerifierDependencies): Authenticator {
  const verifier = createHmacVerifier(config, dependencies);
  const challenge = `HMAC-SHA256 realm="${config.realm}"`;
  const tooLarge = new PolicyRejection("validation", problems.bodyTooLarge, `a signed request's body may be at most ${config.maxBodyBytes} bytes`, [
    ["connection", "close"],
  ]);

  return {
    type: "hmac",
    challenge,
    async: true,
    discardCredential(request: PolicyRequest): void {
      if (config.hideCredential) removeHeader(request.headers, "authorization");
    },
    authenticate(request: PolicyRequest): AuthOutcome | Promise<AuthOutcome> {
      const authorization = singleHeader(request.headers, "authorization");
      if (authorization === repeatedValue) return new AuthRefusal(401, repeatedAuthorization);
      // Another scheme (or none) is another authenticator's business: answered without parsing anything.
      if (authorization === undefined || !authorization.toUpperCase().startsWith("HMAC-SHA256 ")) return noCredential;
      const { req } = request;
      let result;
      try {
        result = verifier.verifyHead({ method: request.method, target: req.url ?? "", headers: req.headers }, request.receivedAtMs);
      } catch (error) {
        // Fail closed, and say why only in the reason: the key material is never named.
        if (error instanceof HmacSecretUnavailableError) return new AuthRefusal(503, "the signing secret cannot be opened with the configured secretKeys");
        throw error;
      }
      if (!result.ok) return result.presented ? new AuthRefusal(result.status, result.reason, result.wwwAuthenticate ?? null) : noCredential;

      const { consumerId, credentialId, bodyDigest } = result;
      const accept = (): AuthOutcome => {
        if (config.hideCredential) removeHeader(request.headers, "authorization");
        return { consumerId, credentialId, scopes: null };
      };
      const mismatch = new AuthRefusal(401, "body does not match Content-Digest", null, consumerId, credentialId);
      if (!hasBody(req.headers)) {
        const check = createBodyDigestCheck(bodyDigest);
        return check.matches() ? accept() : mismatch;
      }
      return readRequestBody(req, config.maxBodyBytes).then((read): AuthOutcome => {
        if (read.kind === "too-large") return tooLarge;
        if (read.kind === "aborted") return new AuthRefusal(401, "the client left before sending the whole body", null, consumerId, credentialId);
        request.bodyOverride = read.body;
        const check = createBodyDigestCheck(bodyDigest);
        check.update(read.body);
        return check.matches() ? accept() : mismatch;
      });
    },
  };
}

/** RFC 9112 6.3: a request has a body exactly when it is chunked or has a non-zero Content-Length (framing was checked before). */
function hasBody(headers: PolicyRequest["req"]["headers"]): boolean {
  if (headers["transfer-encoding"] !== undefined) return true;
  const length = headers["content-length"];
  return length !== undefined && Number(length) !== 0;
}
