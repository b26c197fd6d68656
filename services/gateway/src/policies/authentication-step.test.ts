import { describe, expect, it } from "vitest";
import { fakePolicyExchange } from "../test-support/fake-policy-exchange.js";
import { createAuthenticationStep, type IdentityState } from "./authentication-step.js";
import { AuthRefusal, noCredential, type AuthOutcome, type Authenticator } from "./authenticator.js";
import { problems } from "../errors/problem-catalog.js";
import { PolicyRejection, type PolicyExchange } from "./policy-step.js";

const ready: IdentityState = { ready: true, version: "42" };
const acme = { consumerId: "acme", credentialId: "cred-1", scopes: null };

function fixed(type: string, outcome: AuthOutcome, discarded: string[] = []): Authenticator {
  return {
    type,
    challenge: `${type} realm="t"`,
    async: false,
    authenticate: () => outcome,
    discardCredential: () => void discarded.push(type),
  };
}

function later(type: string, outcome: AuthOutcome): Authenticator {
  return { type, challenge: `${type} realm="t"`, async: true, authenticate: () => Promise.resolve(outcome) };
}

async function run(authenticators: Authenticator[], state: IdentityState = ready): Promise<{ rejection: PolicyRejection | null; exchange: PolicyExchange }> {
  const step = createAuthenticationStep(authenticators, state);
  const exchange = fakePolicyExchange();
  return { rejection: await step.run(exchange), exchange };
}

describe("authentication (any of the route's authenticators)", () => {
  it("is synchronous when every authenticator is", () => {
    expect(createAuthenticationStep([fixed("a", acme)], ready).async).toBe(false);
    expect(createAuthenticationStep([fixed("a", acme), later("b", acme)], ready).async).toBe(true);
  });

  it("accepts with the first authenticator that accepts, records who, and discards the credentials of those it did not run", async () => {
    const discarded: string[] = [];
    const { rejection, exchange } = await run([fixed("a", noCredential, discarded), fixed("b", acme, discarded), fixed("c", noCredential, discarded)]);
    expect(rejection).toBeNull();
    expect(exchange).toMatchObject({ identity: acme, consumerId: "acme", credentialId: "cred-1", controlPlaneVersion: "42" });
    expect(discarded).toEqual(["c"]);
  });

  it("lets a later authenticator accept after an earlier one refused", async () => {
    const { rejection } = await run([fixed("a", new AuthRefusal(401, "stale key")), later("b", acme)]);
    expect(rejection).toBeNull();
  });

  it("answers 401 with a challenge per authenticator when no credential was presented", async () => {
    const { rejection } = await run([fixed("a", noCredential), fixed("b", noCredential)]);
    expect(rejection).toMatchObject({
      stage: "auth",
      problem: { status: 401, code: "unauthorized" },
      reason: "no credentials in the request",
      headers: [["www-authenticate", ['a realm="t"', 'b realm="t"']]],
    });
  });

  it("answers 401 with the first refusal's reason and challenge, and names a recognised credential", async () => {
    const revoked = new AuthRefusal(401, "API key revoked", 'a realm="t", error="invalid_key"', "acme", "cred-1");
    const { rejection, exchange } = await run([fixed("a", revoked), fixed("b", noCredential)]);
    expect(rejection).toMatchObject({
      problem: { status: 401 },
      reason: "API key revoked",
      headers: [["www-authenticate", ['a realm="t", error="invalid_key"', 'b realm="t"']]],
    });
    expect(exchange).toMatchObject({ identity: null, consumerId: "acme", credentialId: "cred-1" });
  });

  it("answers 503 when a credential could not be checked and none was accepted", async () => {
    const { rejection } = await run([fixed("a", new AuthRefusal(401, "bad")), later("b", new AuthRefusal(503, "key set unavailable"))]);
    expect(rejection).toMatchObject({ problem: { status: 503, code: "auth-unavailable" }, reason: "key set unavailable" });
  });

  it("ends the chain with an authenticator's PolicyRejection at once, without trying the others", async () => {
    const tooLarge = new PolicyRejection("validation", problems.bodyTooLarge, "body too large");
    const discarded: string[] = [];
    const { rejection } = await run([later("hmac", tooLarge), fixed("b", acme, discarded)]);
    expect(rejection).toBe(tooLarge);
    expect((await run([fixed("a", tooLarge)])).rejection).toBe(tooLarge);
  });

  it("refuses everything with 503 until the identity index has caught up", async () => {
    const { rejection } = await run([fixed("a", acme)], { ready: false, version: "0" });
    expect(rejection).toMatchObject({ stage: "auth", problem: { status: 503, retryable: true } });
  });
});
