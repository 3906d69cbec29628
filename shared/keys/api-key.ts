// API key format and hashing. A key is `tzk_` + 32 random bytes in base62 (43 chars);
// only its SHA-256 and a display prefix are ever stored.
import { createHash, randomBytes } from 'node:crypto';
import baseX from 'base-x';

const BASE62 = baseX('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz');

export const API_KEY_PREFIX = 'tzk_';
const SECRET_BYTES = 32;
/** 32 bytes never need more than 43 base62 digits; we left-pad to exactly that. */
const SECRET_CHARS = 43;
const DISPLAY_CHARS = 8;

export const API_KEY_PATTERN = /^tzk_[0-9A-Za-z]{43}$/;
export const DISPLAY_PREFIX_PATTERN = /^tzk_[0-9A-Za-z]{8}$/;

export interface GeneratedApiKey {
  /** Shown once to the caller, never stored. */
  readonly key: string;
  readonly hash: string;
  readonly prefix: string;
}

export function generateApiKey(): GeneratedApiKey {
  const secret = BASE62.encode(randomBytes(SECRET_BYTES)).padStart(SECRET_CHARS, '0');
  const key = `${API_KEY_PREFIX}${secret}`;
  return { key, hash: hashApiKey(key), prefix: displayPrefix(key) };
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function displayPrefix(key: string): string {
  return key.slice(0, API_KEY_PREFIX.length + DISPLAY_CHARS);
}

export function looksLikeApiKey(value: string): boolean {
  return API_KEY_PATTERN.test(value);
}
