import { hash } from "node:crypto";
import { crc32 } from "node:zlib";
import { base62 } from "./base62.js";
import type { Entropy } from "./entropy.js";

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
 *
 * The control plane issues keys with these functions and the gateway checks them with
 * the same ones, so the two can never disagree on what a key or its hash is.
 */
export const apiKeyPrefix = "tg_";
const bodyLength = 43;
const checksumLength = 6;
/** Length of every key: prefix, body and checksum. */
export const apiKeyLength = apiKeyPrefix.length + bodyLength + checksumLength;
const displayLength = apiKeyPrefix.length + 8;
const apiKeyPattern = /^tg_[0-9A-Za-z]{49}$/;
const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

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

/**
 * SHA-256 of the full key, lowercase hex: what the log and the read models hold. One
 * call, no Hash object: the gateway runs it once per request that presents a key.
 */
export function hashApiKey(key: string): string {
  return hash("sha256", key, "hex");
}

export function displayPrefixOf(key: string): string {
  return key.slice(0, displayLength);
}

/**
 * True when `value` has the shape of a key (prefix, length, alphabet), checksum not
 * verified. A cheap first filter: anything else is refused before it is hashed.
 */
export function hasApiKeyShape(value: string): boolean {
  return value.length === apiKeyLength && apiKeyPattern.test(value);
}

/** True when `key` has the shape and a valid checksum; says nothing about whether it was issued. */
export function isWellFormedApiKey(key: string): boolean {
  if (!hasApiKeyShape(key)) return false;
  const body = key.slice(apiKeyPrefix.length, apiKeyPrefix.length + bodyLength);
  return key.slice(apiKeyPrefix.length + bodyLength) === checksumOf(body);
}

/** CRC32 of the body in base62, 6 characters (62^6 > 2^32), most significant first. */
function checksumOf(body: string): string {
  let value = crc32(body);
  let out = "";
  for (let index = 0; index < checksumLength; index++) {
    out = alphabet[value % 62]! + out;
    value = Math.floor(value / 62);
  }
  return out;
}
