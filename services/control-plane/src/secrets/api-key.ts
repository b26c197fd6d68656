import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";
import type { Entropy } from "../runtime/entropy.js";
import { base62 } from "./base62.js";

/**
 * API keys look like `tg_<43 base62 chars: 256 random bits><6 base62 chars: CRC32>`.
 *
 * - The `tg_` prefix makes a leaked key recognisable to secret scanners and people.
 * - The checksum lets the gateway (and a client) refuse a mistyped or made-up key
 *   without a lookup, and lets scanners tell real keys from look-alikes.
 * - Only the SHA-256 of the full key is stored. A slow hash is unnecessary here: the
 *   key has 256 bits of entropy, so the hash cannot be reversed by guessing.
 * - The display prefix (`tg_` + 8 chars, 47 of the 256 bits) is stored to let people
 *   tell keys apart; what remains is far beyond guessing.
 */
export const apiKeyPrefix = "tg_";
const bodyLength = 43;
const checksumLength = 6;
const displayLength = apiKeyPrefix.length + 8;
const apiKeyPattern = /^tg_[0-9A-Za-z]{49}$/;

export interface GeneratedApiKey {
  /** The key itself: returned to the caller once, never stored or logged. */
  key: string;
  prefix: string;
  hash: string;
}

export function generateApiKey(entropy: Entropy): GeneratedApiKey {
  const body = base62(entropy(32), bodyLength);
  const key = `${apiKeyPrefix}${body}${checksumOf(body)}`;
  return { key, prefix: displayPrefixOf(key), hash: hashApiKey(key) };
}

/** SHA-256 of the full key, lowercase hex: what the log and the read model hold. */
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

export function displayPrefixOf(key: string): string {
  return key.slice(0, displayLength);
}

/** True when `key` has the shape and a valid checksum; says nothing about whether it was issued. */
export function isWellFormedApiKey(key: string): boolean {
  if (!apiKeyPattern.test(key)) return false;
  const body = key.slice(apiKeyPrefix.length, apiKeyPrefix.length + bodyLength);
  return key.slice(apiKeyPrefix.length + bodyLength) === checksumOf(body);
}

function checksumOf(body: string): string {
  const sum = crc32(body);
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(sum);
  return base62(bytes, checksumLength);
}
