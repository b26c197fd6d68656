import { randomBytes } from "node:crypto";
import { SecretBox } from "@tollgate/credentials";
import { describe, expect, it } from "vitest";
import { createSealedHmacKeyLookup, HmacSecretUnavailableError, type SealedHmacSecret } from "./sealed-hmac-key-lookup.js";

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const base64 = (key: Buffer): string => key.toString("base64");

/** Seals as the control plane does: AES-256-GCM under `current`, the credential id as associated data. */
function seal(current: string, credentialId: string, secret: string): SealedHmacSecret {
  const box = new SecretBox({ current, keys: new Map([["k1", k1], ["k2", k2]]) }, randomBytes);
  return { consumerId: "acme", credentialId, secret: box.seal(Buffer.from(secret, "utf8"), credentialId) };
}

describe("sealed HMAC key lookup (the gateway's side of the control plane's SecretBox)", () => {
  it("opens secrets sealed before and after a key rotation side by side, by the key id stored with each", () => {
    const secrets = new Map([["old", seal("k1", "old", "tgs_old")], ["new", seal("k2", "new", "tgs_new")]]);
    const lookup = createSealedHmacKeyLookup({ hmacSecret: (id) => secrets.get(id) }, { keys: { k1: base64(k1), k2: base64(k2) } });
    expect(lookup.findHmacKey("old")?.secret.toString()).toBe("tgs_old");
    expect(lookup.findHmacKey("new")?.secret.toString()).toBe("tgs_new");
    expect(lookup.findHmacKey("missing")).toBeUndefined();
  });

  it("opens each sealed object once, and a re-sealed secret (a new object) again", () => {
    const secrets = new Map([["s", seal("k1", "s", "tgs_one")]]);
    const lookup = createSealedHmacKeyLookup({ hmacSecret: (id) => secrets.get(id) }, { keys: { k1: base64(k1), k2: base64(k2) } });
    const first = lookup.findHmacKey("s");
    expect(lookup.findHmacKey("s")).toBe(first);
    secrets.set("s", seal("k2", "s", "tgs_one"));
    expect(lookup.findHmacKey("s")).not.toBe(first);
    expect(lookup.findHmacKey("s")?.secret.toString()).toBe("tgs_one");
  });

  it("throws HmacSecretUnavailableError, naming ids only, for a key id it lacks or a ciphertext moved to another credential", () => {
    const moved = { ...seal("k1", "a", "tgs_a"), credentialId: "b" };
    const secrets = new Map<string, SealedHmacSecret>([["new", seal("k2", "new", "tgs_new")], ["b", moved]]);
    const lookup = createSealedHmacKeyLookup({ hmacSecret: (id) => secrets.get(id) }, { keys: { k1: base64(k1) } });
    expect(() => lookup.findHmacKey("new")).toThrow(HmacSecretUnavailableError);
    expect(() => lookup.findHmacKey("new")).toThrow('HMAC secret "new" is sealed with key "k2", which is not in secretKeys.keys');
    expect(() => lookup.findHmacKey("b")).toThrow('HMAC secret "b" does not open with key "k1"');
  });
});
