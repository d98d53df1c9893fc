import { SignJWT } from 'jose';
import type { webcrypto } from 'node:crypto';
import { TOKEN_ALGORITHM } from './platform-keys';

export interface TokenClaims {
  /** Who issued it: the platform (`KINTO_TOKEN_ISSUER`, default "kinto"). */
  readonly issuer: string;
  /** The environment the token opens (`aud`). */
  readonly envId: string;
  /** The client it was issued to (`sub`). */
  readonly clientId: string;
  /** The client's secret generation (`gen`): a rotation makes older tokens invalid. */
  readonly generation: number;
  /** Unique token id (`jti`). */
  readonly tokenId: string;
  /** Seconds since the epoch. */
  readonly issuedAt: number;
  readonly lifetimeSeconds: number;
}

/** Signs a Kinto token: HS256, with `iss`, `aud`, `sub`, `iat`, `exp`, `jti` and `gen`. */
export function signToken(key: webcrypto.CryptoKey, claims: TokenClaims): Promise<string> {
  return new SignJWT({ gen: claims.generation })
    .setProtectedHeader({ alg: TOKEN_ALGORITHM, typ: 'JWT' })
    .setIssuer(claims.issuer)
    .setAudience(claims.envId)
    .setSubject(claims.clientId)
    .setIssuedAt(claims.issuedAt)
    .setExpirationTime(claims.issuedAt + claims.lifetimeSeconds)
    .setJti(claims.tokenId)
    .sign(key);
}
