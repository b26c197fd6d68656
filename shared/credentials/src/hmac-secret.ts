import type { Entropy } from "./entropy.js";

/** HMAC signing secrets: `tgs_` + 256 random bits, base64url. Shown once, then held only sealed (see SecretBox). */
export function generateHmacSecret(entropy: Entropy): string {
  return `tgs_${entropy(32).toString("base64url")}`;
}
