import { randomBytes } from "node:crypto";

/**
 * Where secret material comes from: API keys, HMAC secrets, password salts and GCM
 * nonces. Production uses the CSPRNG; tests inject a deterministic source to assert
 * exact keys, and never in production code.
 */
export type Entropy = (size: number) => Buffer;

export const systemEntropy: Entropy = (size) => randomBytes(size);
