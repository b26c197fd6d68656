import { randomBytes } from "node:crypto";
import { hashPassword } from "@tollgate/credentials";
import type { ScryptPasswordHash } from "@tollgate/events";
import { describe, expect, it } from "vitest";
import { fakePolicyExchange } from "../../test-support/fake-policy-exchange.js";
import { AuthRefusal, noCredential } from "../authenticator.js";
import { createBasicAuthenticator } from "./basic-authenticator.js";
import { BasicAuthenticatorConfig } from "./basic-policy-config.js";
import type { BasicUser } from "./basic-verifier.js";

/** Cheap parameters: the test is about the wiring, not scrypt's cost. */
const fast = { N: 1024, r: 8, p: 1, keyLength: 32 };
const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

describe("basic authenticator (the verifier wired to the request)", async () => {
  const passwordHash = await hashPassword("correct horse battery", randomBytes, fast);
  const users = new Map<string, BasicUser<ScryptPasswordHash>>([["ops", { consumerId: "acme", credentialId: "basic-1", passwordHash }]]);
  const authenticator = createBasicAuthenticator(BasicAuthenticatorConfig.parse({ type: "basic" }), { users: { findBasicUser: (name) => users.get(name) } });

  it("accepts the right password, without scopes, and removes the credentials from what is forwarded", async () => {
    const exchange = fakePolicyExchange({ headers: ["Authorization", basic("ops", "correct horse battery"), "accept", "*/*"] });
    expect(await authenticator.authenticate(exchange)).toEqual({ consumerId: "acme", credentialId: "basic-1", scopes: null });
    expect(exchange.headers).toEqual(["accept", "*/*"]);
  });

  it("refuses a wrong password and an unknown user alike (the unknown one checked against the decoy)", async () => {
    for (const header of [basic("ops", "wrong password!"), basic("nobody", "correct horse battery")]) {
      const outcome = await authenticator.authenticate(fakePolicyExchange({ headers: ["authorization", header] }));
      expect(outcome).toBeInstanceOf(AuthRefusal);
      expect(outcome).toMatchObject({ status: 401, reason: "unknown user or wrong password", challenge: 'Basic realm="tollgate", charset="UTF-8"' });
    }
  });

  it("leaves other schemes to the route's other authenticators, and refuses two Authorization headers", async () => {
    expect(await authenticator.authenticate(fakePolicyExchange({ headers: ["authorization", "Bearer abc"] }))).toBe(noCredential);
    expect(await authenticator.authenticate(fakePolicyExchange({ headers: ["authorization", basic("ops", "x"), "Authorization", basic("ops", "y")] }))).toMatchObject({
      status: 401,
      reason: "more than one Authorization header",
    });
  });
});
