import { randomBytes } from "node:crypto";
import { hashPassword as hashWith, systemEntropy, verifyPassword as verifyScrypt } from "@tollgate/credentials";
import type { ScryptPasswordHash } from "@tollgate/events";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BasicPolicyConfig } from "./basic-policy-config.js";
import { createBasicVerifier, type BasicResult, type BasicUser, type BasicVerifier } from "./basic-verifier.js";

/**
 * The real hash format and verifier the pipeline injects (@tollgate/credentials),
 * at a low cost so the suite stays fast; the cost is stored with each hash.
 */
const hashPassword = (password: string): Promise<ScryptPasswordHash> => hashWith(password, systemEntropy, { N: 2 ** 10, r: 8, p: 1, keyLength: 32 });

const basic = (username: string, password: string): string => `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;
const challenge = 'Basic realm="tollgate", charset="UTF-8"';
const wrong: BasicResult = { ok: false, status: 401, presented: true, reason: "unknown user or wrong password", wwwAuthenticate: challenge };

describe("HTTP Basic policy", () => {
  const users = new Map<string, BasicUser<ScryptPasswordHash>>();
  const checked: ScryptPasswordHash[] = [];
  let decoyHash: ScryptPasswordHash;
  let now: number;
  const clock = { epochMs: () => now };

  function verifier(overrides: Record<string, unknown> = {}): BasicVerifier {
    return createBasicVerifier(BasicPolicyConfig.parse(overrides), {
      users: { findBasicUser: (username) => users.get(username) },
      verifyPassword: (password, hash) => {
        checked.push(hash);
        return verifyScrypt(password, hash);
      },
      decoyHash,
      clock,
    });
  }

  beforeAll(async () => {
    decoyHash = await hashPassword(randomBytes(16).toString("hex"));
    users.set("alice", { consumerId: "acme", credentialId: "basic-alice", passwordHash: await hashPassword("correct horse: battery staple") });
    users.set("jörg@example.com", { consumerId: "globex", credentialId: "basic-jorg", passwordHash: await hashPassword("pässwörd") });
  });

  beforeEach(() => {
    now = 1_700_000_000_000;
    checked.length = 0;
  });

  describe("happy", () => {
    it("accepts the right password (which may contain ':')", async () => {
      expect(await verifier().verify(basic("alice", "correct horse: battery staple"))).toEqual({
        ok: true,
        consumerId: "acme",
        credentialId: "basic-alice",
        username: "alice",
        cached: false,
      });
    });

    it("decodes UTF-8 user names and passwords (RFC 7617 charset)", async () => {
      expect(await verifier().verify(basic("jörg@example.com", "pässwörd"))).toMatchObject({ ok: true, consumerId: "globex" });
    });

    it("reuses a recent success synchronously, without hashing again", async () => {
      const policy = verifier();
      await policy.verify(basic("alice", "correct horse: battery staple"));
      now += 59_999;
      const again = policy.verify(basic("alice", "correct horse: battery staple"));
      expect(again).not.toBeInstanceOf(Promise);
      expect(again).toMatchObject({ ok: true, cached: true });
      expect(checked).toHaveLength(1);
    });

    it("hashes again once the cached success expires, or always when the cache is off", async () => {
      const policy = verifier();
      await policy.verify(basic("alice", "correct horse: battery staple"));
      now += 60_000;
      expect(await policy.verify(basic("alice", "correct horse: battery staple"))).toMatchObject({ ok: true, cached: false });
      const uncached = verifier({ cache: { ttlMs: 0 } });
      await uncached.verify(basic("alice", "correct horse: battery staple"));
      await uncached.verify(basic("alice", "correct horse: battery staple"));
      expect(checked).toHaveLength(4);
    });
  });

  describe("error", () => {
    it("asks for credentials when there are none, synchronously", () => {
      for (const header of [undefined, "", "Bearer abc"]) {
        expect(verifier().verify(header)).toEqual({ ok: false, status: 401, presented: false, reason: "no basic credentials", wwwAuthenticate: challenge });
      }
    });

    it("refuses malformed credentials without hashing", () => {
      for (const header of ["Basic", "Basic !!!", "Basic YWxpY2U=", `Basic ${Buffer.from(":pw").toString("base64")}`, `Basic ${Buffer.from([0x61, 0x3a, 0xff]).toString("base64")}`]) {
        expect(verifier().verify(header)).toEqual({ ok: false, status: 401, presented: true, reason: "malformed basic credentials", wwwAuthenticate: challenge });
      }
      expect(checked).toHaveLength(0);
    });

    it("refuses a wrong password", async () => {
      expect(await verifier().verify(basic("alice", "Correct horse: battery staple"))).toEqual(wrong);
    });
  });

  describe("security", () => {
    it("checks the decoy hash for an unknown user, so both failures cost the same and read the same", async () => {
      expect(await verifier().verify(basic("mallory", "whatever"))).toEqual(wrong);
      expect(checked).toEqual([decoyHash]);
    });

    it("never caches a failure", async () => {
      const policy = verifier();
      await policy.verify(basic("alice", "guess"));
      await policy.verify(basic("alice", "guess"));
      expect(checked).toHaveLength(2);
    });

    it("drops a cached success when the password changes", async () => {
      const policy = verifier();
      const original = users.get("alice")!;
      await policy.verify(basic("alice", "correct horse: battery staple"));
      users.set("alice", { ...original, passwordHash: await hashPassword("new password") });
      try {
        expect(await policy.verify(basic("alice", "correct horse: battery staple"))).toEqual(wrong);
        expect(await policy.verify(basic("alice", "new password"))).toMatchObject({ ok: true, cached: false });
      } finally {
        users.set("alice", original);
      }
    });

    it("drops a cached success when the user is removed", async () => {
      const policy = verifier();
      const original = users.get("alice")!;
      await policy.verify(basic("alice", "correct horse: battery staple"));
      users.delete("alice");
      try {
        expect(await policy.verify(basic("alice", "correct horse: battery staple"))).toEqual(wrong);
      } finally {
        users.set("alice", original);
      }
    });

    it("never puts the password in a reason", async () => {
      const results = [await verifier().verify(basic("alice", "hunter2-secret")), verifier().verify(basic("alice", "hunter2-secret").slice(0, -2))];
      for (const result of results) expect(JSON.stringify(result)).not.toContain("hunter2");
    });
  });
});
