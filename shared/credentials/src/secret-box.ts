import { createCipheriv, createDecipheriv } from "node:crypto";
import type { SealedSecret } from "@tollgate/events";
import type { Entropy } from "./entropy.js";

export interface SecretKeyRing {
  /** The key new secrets are sealed with. */
  current: string;
  /** Every key that may still be needed to open a secret, by id; includes `current`. */
  keys: ReadonlyMap<string, Buffer>;
}

export class UnknownSecretKeyError extends Error {
  constructor(readonly keyId: string) {
    super(`secret sealed with key "${keyId}", which is not configured`);
    this.name = "UnknownSecretKeyError";
  }
}

/**
 * Seals HMAC signing secrets with AES-256-GCM. The gateway must read them back to
 * verify signatures, so they cannot be hashed; what enters the log is the ciphertext,
 * a random 96-bit nonce, the tag and the id of the key, never the key.
 *
 * The credential id is bound as associated data: a ciphertext copied into another
 * credential's event fails to open instead of granting that credential the secret.
 *
 * Keys rotate: new secrets use `current`; older ids stay configured until every secret
 * sealed with them has been re-sealed (see docs/control-plane.md, "Rotating the
 * encryption key").
 */
export class SecretBox {
  readonly #ring: SecretKeyRing;
  readonly #entropy: Entropy;

  constructor(ring: SecretKeyRing, entropy: Entropy) {
    const current = ring.keys.get(ring.current);
    if (!current) throw new Error(`the current secret key "${ring.current}" is not among the configured keys`);
    for (const [id, key] of ring.keys) if (key.length !== 32) throw new Error(`secret key "${id}" must be 32 bytes, got ${key.length}`);
    this.#ring = ring;
    this.#entropy = entropy;
  }

  get currentKeyId(): string {
    return this.#ring.current;
  }

  keyIds(): string[] {
    return [...this.#ring.keys.keys()];
  }

  seal(plaintext: Buffer, associatedData: string): SealedSecret {
    const keyId = this.#ring.current;
    const iv = this.#entropy(12);
    const cipher = createCipheriv("aes-256-gcm", this.#ring.keys.get(keyId)!, iv);
    cipher.setAAD(Buffer.from(associatedData, "utf8"));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return {
      algorithm: "aes-256-gcm",
      keyId,
      iv: iv.toString("base64"),
      ciphertext: ciphertext.toString("base64"),
      tag: cipher.getAuthTag().toString("base64"),
    };
  }

  /** Throws UnknownSecretKeyError for a key id that is not configured, and an Error when authentication fails. */
  open(sealed: SealedSecret, associatedData: string): Buffer {
    const key = this.#ring.keys.get(sealed.keyId);
    if (!key) throw new UnknownSecretKeyError(sealed.keyId);
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(sealed.iv, "base64"));
    decipher.setAAD(Buffer.from(associatedData, "utf8"));
    decipher.setAuthTag(Buffer.from(sealed.tag, "base64"));
    return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, "base64")), decipher.final()]);
  }
}
