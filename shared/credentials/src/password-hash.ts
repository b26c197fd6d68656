import { scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";
import type { ScryptPasswordHash } from "@tollgate/events";
import type { Entropy } from "./entropy.js";

/**
 * scrypt parameters for new password hashes: N=2^15, r=8, p=1 (the OWASP minimum
 * is N=2^17 with r=8 for interactive logins on dedicated hardware; 2^15 keeps a
 * gateway's Basic check near 30 ms on a shared core). The parameters are stored
 * with every hash, so they can be raised later without invalidating old hashes.
 */
export const defaultScryptParameters = { N: 2 ** 15, r: 8, p: 1, keyLength: 32 } as const;

export type ScryptParameters = Pick<ScryptPasswordHash, "N" | "r" | "p" | "keyLength">;

export async function hashPassword(
  password: string,
  entropy: Entropy,
  parameters: ScryptParameters = defaultScryptParameters,
): Promise<ScryptPasswordHash> {
  const salt = entropy(16);
  const hash = await derive(password, salt, parameters);
  return { algorithm: "scrypt", ...parameters, salt: salt.toString("base64"), hash: hash.toString("base64") };
}

/** Derives with the stored salt and parameters and compares in constant time. */
export async function verifyPassword(password: string, stored: ScryptPasswordHash): Promise<boolean> {
  const expected = Buffer.from(stored.hash, "base64");
  const actual = await derive(password, Buffer.from(stored.salt, "base64"), stored);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

function derive(password: string, salt: Buffer, parameters: ScryptParameters): Promise<Buffer> {
  // scrypt needs 128 * N * r bytes; Node's default maxmem (32 MiB) is exactly that at
  // N=2^15, r=8, so it is raised with headroom for stored hashes with higher costs.
  const options: ScryptOptions = { N: parameters.N, r: parameters.r, p: parameters.p, maxmem: 256 * parameters.N * parameters.r };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize("NFC"), salt, parameters.keyLength, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}
