import { type ApiKeyCredential, type Credential, evolveCredential, generateApiKey, liveApiKeys } from "@tollgate/credentials";
import type { CredentialEvent } from "@tollgate/events";
import { describe, expect, it } from "vitest";
import { ControlPlaneError } from "../../errors/control-plane-error.js";
import type { Consumer } from "../consumer/evolve-consumer.js";
import type { DecisionContext } from "../decider.js";
import { credentialLookupKeys } from "./credential-lookup-keys.js";
import { decideCredential, type CredentialCommand } from "./decide-credential.js";

const now = new Date("2026-11-26T10:00:00.000Z");
const context: DecisionContext = { actor: { kind: "admin", id: "ops" }, now };
const acme: Consumer = { consumerId: "acme", name: "Acme", email: null, labels: {} };
const counterEntropy = (seed: number) => (size: number) => Buffer.alloc(size, seed);

const fold = (events: CredentialEvent[], state: Credential | null = null): Credential | null => events.reduce(evolveCredential, state);
const run = (command: CredentialCommand, state: Credential | null) => {
  const events = decideCredential(command, state, context);
  return { events, state: fold(events, state) };
};

function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (error instanceof ControlPlaneError) return error.problem.code;
    throw error;
  }
  throw new Error("expected a ControlPlaneError");
}

const first = generateApiKey(counterEntropy(1));
const second = generateApiKey(counterEntropy(2));
const issue: CredentialCommand = {
  type: "IssueApiKey",
  credentialId: "cred-1",
  consumerId: "acme",
  consumer: acme,
  keyId: "key-1",
  name: "ci",
  prefix: first.prefix,
  hash: first.hash,
  expiresAt: null,
};

describe("API key credentials (happy)", () => {
  it("issues a key as its hash and prefix", () => {
    const { events, state } = run(issue, null);
    expect(events).toEqual([
      {
        type: "ApiKeyIssued",
        version: 1,
        data: { credentialId: "cred-1", consumerId: "acme", keyId: "key-1", name: "ci", prefix: first.prefix, hash: first.hash, expiresAt: null, actor: context.actor },
      },
    ]);
    expect(state).toMatchObject({ kind: "api-key", status: "active", keys: [{ keyId: "key-1", hash: first.hash }] });
    expect(credentialLookupKeys(state)).toEqual([`api-key:${first.hash}`]);
  });

  it("rotates: the new key now, the previous one until the overlap ends", () => {
    const issued = run(issue, null).state;
    const rotate: CredentialCommand = {
      type: "RotateApiKey",
      credentialId: "cred-1",
      keyId: "key-2",
      prefix: second.prefix,
      hash: second.hash,
      expiresAt: null,
      overlapSeconds: 3_600,
    };
    const { events, state } = run(rotate, issued);
    expect(events[0]).toEqual({
      type: "ApiKeyRotated",
      version: 1,
      data: {
        credentialId: "cred-1",
        consumerId: "acme",
        keyId: "key-2",
        prefix: second.prefix,
        hash: second.hash,
        expiresAt: null,
        previousKeyId: "key-1",
        previousKeyExpiresAt: "2026-11-26T11:00:00.000Z",
        actor: context.actor,
      },
    });
    const credential = state as ApiKeyCredential;
    expect(liveApiKeys(credential, new Date("2026-11-26T10:59:59Z")).map((key) => key.keyId)).toEqual(["key-1", "key-2"]);
    expect(liveApiKeys(credential, new Date("2026-11-26T11:00:00Z")).map((key) => key.keyId)).toEqual(["key-2"]);
  });

  it("never extends the previous key's life beyond its own expiry", () => {
    const issued = run({ ...issue, expiresAt: "2026-11-26T10:30:00.000Z" }, null).state;
    const { events } = run(
      { type: "RotateApiKey", credentialId: "cred-1", keyId: "key-2", prefix: second.prefix, hash: second.hash, expiresAt: null, overlapSeconds: 86_400 },
      issued,
    );
    expect((events[0]!.data as { previousKeyExpiresAt: string }).previousKeyExpiresAt).toBe("2026-11-26T10:30:00.000Z");
  });

  it("revokes each kind with its own event, once", () => {
    const issued = run(issue, null).state;
    const revoked = run({ type: "RevokeCredential", credentialId: "cred-1", reason: "leaked" }, issued);
    expect(revoked.events.map((event) => event.type)).toEqual(["ApiKeyRevoked"]);
    expect(liveApiKeys(revoked.state as ApiKeyCredential, now)).toEqual([]);
    expect(credentialLookupKeys(revoked.state)).toEqual([]);
    expect(decideCredential({ type: "RevokeCredential", credentialId: "cred-1", reason: null }, revoked.state, context)).toEqual([]);

    const mapped = run(
      { type: "MapJwtIdentity", credentialId: "jwt-1", consumerId: "acme", consumer: acme, issuer: "https://idp", match: { kind: "subject", subject: "svc" }, conflictingCredentialId: null },
      null,
    ).state;
    expect(decideCredential({ type: "RevokeCredential", credentialId: "jwt-1", reason: null }, mapped, context)[0]!.type).toBe("JwtIdentityUnmapped");
  });
});

describe("credentials (error)", () => {
  it("refuses a credential for a consumer that does not exist", () => {
    expect(codeOf(() => decideCredential({ ...issue, consumer: null }, null, context))).toBe("invalid-reference");
  });

  it("refuses an expiry in the past, and an overlap out of range", () => {
    expect(codeOf(() => decideCredential({ ...issue, expiresAt: "2026-11-26T09:00:00.000Z" }, null, context))).toBe("invalid-request");
    const issued = run(issue, null).state;
    const rotate = { type: "RotateApiKey", credentialId: "cred-1", keyId: "k", prefix: second.prefix, hash: second.hash, expiresAt: null } as const;
    expect(codeOf(() => decideCredential({ ...rotate, overlapSeconds: -1 }, issued, context))).toBe("invalid-request");
    expect(codeOf(() => decideCredential({ ...rotate, overlapSeconds: 31 * 86_400 }, issued, context))).toBe("invalid-request");
  });

  it("refuses to rotate a revoked key, or a credential of another kind", () => {
    const revoked = fold(decideCredential({ type: "RevokeCredential", credentialId: "cred-1", reason: null }, run(issue, null).state, context), run(issue, null).state);
    const rotate = { type: "RotateApiKey", credentialId: "cred-1", keyId: "k", prefix: second.prefix, hash: second.hash, expiresAt: null, overlapSeconds: 0 } as const;
    expect(codeOf(() => decideCredential(rotate, revoked, context))).toBe("invalid-state");
    const hmac: Credential = {
      kind: "hmac",
      credentialId: "cred-1",
      consumerId: "acme",
      status: "active",
      name: "",
      secret: { algorithm: "aes-256-gcm", keyId: "k1", iv: "AAAA", ciphertext: "AAAA", tag: "AAAA" },
    };
    expect(codeOf(() => decideCredential(rotate, hmac, context))).toBe("invalid-state");
  });

  it("refuses a Basic username or a JWT identity that is already mapped", () => {
    const hash = { algorithm: "scrypt", N: 1024, r: 8, p: 1, keyLength: 32, salt: "AAAA", hash: "AAAA" } as const;
    expect(
      codeOf(() =>
        decideCredential(
          { type: "CreateBasicUser", credentialId: "b", consumerId: "acme", consumer: acme, username: "alice", passwordHash: hash, conflictingCredentialId: "other" },
          null,
          context,
        ),
      ),
    ).toBe("already-exists");
  });
});

describe("credentials (security)", () => {
  it("never puts the key itself in an event", () => {
    const { events } = run(issue, null);
    const rotated = decideCredential(
      { type: "RotateApiKey", credentialId: "cred-1", keyId: "key-2", prefix: second.prefix, hash: second.hash, expiresAt: null, overlapSeconds: 0 },
      fold(events),
      context,
    );
    const serialized = JSON.stringify([...events, ...rotated]);
    expect(serialized).not.toContain(first.key);
    expect(serialized).not.toContain(second.key);
    expect(serialized).not.toContain(first.key.slice(11, 30));
  });
});
