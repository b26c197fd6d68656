import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";
import { apiKeyLength, apiKeyPrefix, displayPrefixOf, generateApiKey, hasApiKeyShape, hashApiKey, isWellFormedApiKey } from "./api-key.js";
import { base62 } from "./base62.js";
import { constantTimeEqual } from "./constant-time-equal.js";
import { hashPassword, verifyPassword } from "./password-hash.js";
import { SecretBox, UnknownSecretKeyError } from "./secret-box.js";

const fixed = (byte: number) => (size: number) => Buffer.alloc(size, byte);
const scrypt = { N: 1_024, r: 8, p: 1, keyLength: 32 };

describe("API keys", () => {
  it("have a recognisable prefix, 256 random bits and a checksum", () => {
    const { key, prefix, hash } = generateApiKey(fixed(7));
    expect(key).toMatch(/^tg_[0-9A-Za-z]{49}$/);
    expect(key.startsWith(apiKeyPrefix)).toBe(true);
    expect(prefix).toBe(displayPrefixOf(key));
    expect(prefix).toHaveLength(11);
    expect(hash).toBe(hashApiKey(key));
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(isWellFormedApiKey(key)).toBe(true);
  });

  it("refuses a mistyped key by its checksum, without a lookup", () => {
    const { key } = generateApiKey(fixed(9));
    const swapped = key.slice(0, 10) + (key[10] === "A" ? "B" : "A") + key.slice(11);
    expect(isWellFormedApiKey(swapped)).toBe(false);
    expect(isWellFormedApiKey(key.slice(0, -1))).toBe(false);
    expect(isWellFormedApiKey(`xx_${key.slice(3)}`)).toBe(false);
  });

  it("end in the base62 CRC32 of their body, the format keys were first issued in", () => {
    for (let seed = 0; seed < 50; seed++) {
      const { key } = generateApiKey((size) => Buffer.alloc(size, seed));
      const body = key.slice(3, 46);
      const sum = Buffer.alloc(4);
      sum.writeUInt32BE(crc32(body));
      expect(key.slice(46)).toBe(base62(sum, 6));
    }
  });

  it("hash to the SHA-256 hex digest of the whole key", () => {
    const { key, hash } = generateApiKey(fixed(11));
    expect(hash).toBe(createHash("sha256").update(key, "utf8").digest("hex"));
  });

  it("are told apart from other strings by their shape before any hashing", () => {
    const { key } = generateApiKey(fixed(12));
    expect(key).toHaveLength(apiKeyLength);
    expect(hasApiKeyShape(key)).toBe(true);
    expect(hasApiKeyShape(`${key}x`)).toBe(false);
    expect(hasApiKeyShape(key.replace("tg_", "tk_"))).toBe(false);
    expect(hasApiKeyShape(`${key.slice(0, -1)}-`)).toBe(false);
    expect(hasApiKeyShape("")).toBe(false);
  });

  it("differ for different entropy", () => {
    expect(generateApiKey(fixed(1)).key).not.toBe(generateApiKey(fixed(2)).key);
  });
});

describe("password hashes", () => {
  it("verify the right password, refuse a wrong one, and never contain it", async () => {
    const stored = await hashPassword("correct horse battery", fixed(3), scrypt);
    expect(stored).toMatchObject({ algorithm: "scrypt", N: 1_024, r: 8, p: 1, keyLength: 32 });
    expect(JSON.stringify(stored)).not.toContain("correct horse");
    await expect(verifyPassword("correct horse battery", stored)).resolves.toBe(true);
    await expect(verifyPassword("correct horse batterY", stored)).resolves.toBe(false);
  });

  it("salt every hash", async () => {
    const a = await hashPassword("same password here", fixed(1), scrypt);
    const b = await hashPassword("same password here", fixed(2), scrypt);
    expect(a.hash).not.toBe(b.hash);
  });
});

describe("SecretBox (AES-256-GCM)", () => {
  const k1 = Buffer.alloc(32, 1);
  const k2 = Buffer.alloc(32, 2);

  it("seals under the current key and opens with the key id recorded beside the ciphertext", () => {
    const box = new SecretBox({ current: "k1", keys: new Map([["k1", k1]]) }, fixed(5));
    const sealed = box.seal(Buffer.from("tgs_signing-secret"), "cred-1");
    expect(sealed.keyId).toBe("k1");
    expect(Buffer.from(sealed.ciphertext, "base64").toString()).not.toContain("signing");
    expect(box.open(sealed, "cred-1").toString()).toBe("tgs_signing-secret");
  });

  it("binds the credential id: a ciphertext moved to another credential does not open", () => {
    const box = new SecretBox({ current: "k1", keys: new Map([["k1", k1]]) }, fixed(5));
    const sealed = box.seal(Buffer.from("secret"), "cred-1");
    expect(() => box.open(sealed, "cred-2")).toThrow();
    expect(() => box.open({ ...sealed, ciphertext: Buffer.from("tampered").toString("base64") }, "cred-1")).toThrow();
  });

  it("rotates: after the current key changes, old secrets open with the old key, new ones use the new key", () => {
    const before = new SecretBox({ current: "k1", keys: new Map([["k1", k1]]) }, fixed(5));
    const old = before.seal(Buffer.from("old secret"), "cred-1");
    const after = new SecretBox({ current: "k2", keys: new Map([["k1", k1], ["k2", k2]]) }, fixed(6));
    expect(after.open(old, "cred-1").toString()).toBe("old secret");
    expect(after.seal(Buffer.from("new"), "cred-2").keyId).toBe("k2");
    const retired = new SecretBox({ current: "k2", keys: new Map([["k2", k2]]) }, fixed(6));
    expect(() => retired.open(old, "cred-1")).toThrow(UnknownSecretKeyError);
  });

  it("refuses a key ring whose keys are not 32 bytes or whose current key is missing", () => {
    expect(() => new SecretBox({ current: "k1", keys: new Map([["k1", Buffer.alloc(16)]]) }, fixed(1))).toThrow(/32 bytes/);
    expect(() => new SecretBox({ current: "k9", keys: new Map([["k1", k1]]) }, fixed(1))).toThrow(/not among/);
  });
});

describe("constantTimeEqual", () => {
  it("compares secrets of any length", () => {
    expect(constantTimeEqual("abc", "abc")).toBe(true);
    expect(constantTimeEqual("abc", "abd")).toBe(false);
    expect(constantTimeEqual("abc", "abcd")).toBe(false);
  });
});
