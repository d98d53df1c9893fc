import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, type JWTPayload } from 'jose';
import { importTokenKey } from '../../lambdas/core/auth/platform-keys';
import { PLATFORM_KEY_FILE } from '../../lambdas/local/platform-key-file';

/** The local platform's key material, as an attacker who stole KINTO_HOME (or a test) would read it. */
export const keyMaterialOf = (home: string): Buffer => Buffer.from(readFileSync(join(home, PLATFORM_KEY_FILE), 'utf8').trim(), 'utf8');

export interface ForgeOptions {
  readonly material: Uint8Array;
  readonly envId: string;
  readonly clientId: string;
  readonly generation?: number;
  /** Replaces or removes (undefined) claims after the defaults. */
  readonly claims?: Record<string, unknown>;
  readonly header?: Record<string, unknown>;
  /** @default 'HS256' */
  readonly alg?: string;
  /** Sign with other bytes than the platform's token key. */
  readonly rawKey?: Uint8Array;
  readonly nowSeconds?: number;
}

/** Signs a token like `/authorize` does, with whatever changes a test asks for. */
export async function forgeToken(o: ForgeOptions): Promise<string> {
  const now = o.nowSeconds ?? Math.floor(Date.now() / 1000);
  const payload: JWTPayload & Record<string, unknown> = {
    iss: 'kinto',
    aud: o.envId,
    sub: o.clientId,
    iat: now,
    exp: now + 600,
    jti: 'j'.repeat(32),
    gen: o.generation ?? 1,
  };
  for (const [k, v] of Object.entries(o.claims ?? {})) {
    if (v === undefined) delete payload[k];
    else payload[k] = v;
  }
  const alg = o.alg ?? 'HS256';
  const key = o.rawKey ?? (await importTokenKey(o.material));
  return new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT', ...o.header }).sign(key);
}

/** An unsigned token (`alg: none`), built by hand: jose refuses to make one. */
export function unsignedToken(payload: Record<string, unknown>, header: Record<string, unknown> = { alg: 'none', typ: 'JWT' }): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${part(header)}.${part(payload)}.`;
}

/** Reads a token's payload without verifying it (for assertions on claims). */
export const claimsOf = (token: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));

/**
 * True when `a` is the same token as `b` in another spelling: base64url's last character carries
 * unused bits, so a few "damaged" tokens decode to the very same bytes and stay valid. Property
 * tests that damage tokens skip those (they are not damaged).
 */
export function sameTokenBytes(a: string, b: string): boolean {
  const pa = a.split('.');
  const pb = b.split('.');
  if (pa.length !== 3 || pb.length !== 3 || !pa.every((p) => /^[A-Za-z0-9_-]*$/.test(p))) return false;
  return pa.every((p, i) => Buffer.from(p, 'base64url').equals(Buffer.from(pb[i], 'base64url')));
}
