import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const SCHEME = 'hmac-sha256$';

/** Longest secret looked at; anything longer cannot be one Kinto issued. */
export const MAX_SECRET_LENGTH = 256;

/** A new client secret: 256 random bits, base64url (43 characters). */
export const newClientSecret = (): string => randomBytes(32).toString('base64url');

const mac = (key: Buffer, clientId: string, secret: string): Buffer =>
  createHmac('sha256', key).update(clientId, 'utf8').update('\0').update(secret, 'utf8').digest();

/**
 * The stored form of a secret: HMAC-SHA256 keyed with the platform's client-secret key, bound to
 * the client id (a hash copied onto another client does not match). Secrets are random, so a fast
 * keyed hash is enough: there is nothing to brute-force without the key.
 */
export function hashClientSecret(key: Buffer, clientId: string, secret: string): string {
  return SCHEME + mac(key, clientId, secret).toString('base64url');
}

/** Compares a presented secret with the stored hash in constant time (both sides are 32-byte MACs). */
export function clientSecretMatches(key: Buffer, clientId: string, secret: string, stored: string): boolean {
  if (secret.length > MAX_SECRET_LENGTH || !stored.startsWith(SCHEME)) return false;
  const expected = Buffer.from(stored.slice(SCHEME.length), 'base64url');
  const presented = mac(key, clientId, secret);
  return expected.length === presented.length && timingSafeEqual(presented, expected);
}
