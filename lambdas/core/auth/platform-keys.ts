import { createHmac, webcrypto } from 'node:crypto';
import type { PlatformKeys } from '../../ports/keys';

/** JWT signature algorithm of every Kinto token; verification accepts no other. */
export const TOKEN_ALGORITHM = 'HS256';

/** Shortest key material accepted: 256 bits. */
export const MIN_KEY_MATERIAL_BYTES = 32;

/**
 * Keys derived from the platform's key material, one per purpose, so that no purpose can be
 * turned against another (a token signature is never a valid secret hash, and so on).
 */
export interface DerivedKeys {
  /** HS256 token key, imported once as a CryptoKey: jose re-imports raw bytes on every call (~3x slower). */
  readonly tokenKey: webcrypto.CryptoKey;
  /** Keys the HMAC-SHA256 of client secrets. */
  readonly clientSecretKey: Buffer;
  /** Keys each environment's internal entry (see `internal-entry.ts`). */
  readonly internalEntryKey: Buffer;
  /** Seals secret variables (AES-256-GCM; see `secrets.ts`). */
  readonly secretVariablesKey: Buffer;
}

const LABELS = {
  token: 'kinto/v1/token-signing',
  clientSecret: 'kinto/v1/client-secret-hash',
  internalEntry: 'kinto/v1/internal-entry',
  secretVariables: 'kinto/v1/secret-variables',
} as const;

/** One derivation per label: HMAC-SHA256(material, label), 32 bytes. */
export function deriveKey(material: Uint8Array, label: string): Buffer {
  if (material.length < MIN_KEY_MATERIAL_BYTES) {
    throw new Error(`The platform key material is ${material.length} bytes; it must be at least ${MIN_KEY_MATERIAL_BYTES}.`);
  }
  return createHmac('sha256', material).update(label, 'utf8').digest();
}

/** The HS256 token key's bytes (see `importTokenKey` for the form to use). */
export const tokenKeyBytes = (material: Uint8Array): Buffer => deriveKey(material, LABELS.token);

/** Imports the HS256 token key once (non-extractable). */
export function importTokenKey(material: Uint8Array): Promise<webcrypto.CryptoKey> {
  return webcrypto.subtle.importKey('raw', tokenKeyBytes(material), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
}

const derived = new WeakMap<PlatformKeys, Promise<DerivedKeys>>();

/** The derived keys of a key source, computed once per source and shared. */
export function derivedKeys(keys: PlatformKeys): Promise<DerivedKeys> {
  let pending = derived.get(keys);
  if (!pending) {
    pending = (async () => {
      const material = await keys.material();
      return {
        tokenKey: await importTokenKey(material),
        clientSecretKey: deriveKey(material, LABELS.clientSecret),
        internalEntryKey: deriveKey(material, LABELS.internalEntry),
        secretVariablesKey: deriveKey(material, LABELS.secretVariables),
      };
    })();
    derived.set(keys, pending);
    pending.catch(() => derived.delete(keys));
  }
  return pending;
}
