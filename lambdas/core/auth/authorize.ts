import type { CoreContext } from '../context';
import { badRequest, unauthorized } from '../errors';
import { CLIENT_ID_PATTERN, requireKeys } from './clients';
import { clientSecretMatches, hashClientSecret, MAX_SECRET_LENGTH } from './client-secrets';
import { signToken } from './sign-token';

/** What `POST <gateway URL>/authorize` takes: `{clientId, secret}` (or `clientSecret`, as later KintoHub docs named it). */
export interface Credentials {
  readonly clientId: string;
  readonly secret: string;
}

export interface TokenSettings {
  /** `iss` of every token. @example "kinto" */
  readonly issuer: string;
  /** Seconds a token is valid. */
  readonly lifetimeSeconds: number;
}

/** Default token lifetime: one hour. */
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 3600;
import { MAX_TOKEN_LIFETIME_SECONDS } from './verify-token';

export { MAX_TOKEN_LIFETIME_SECONDS };

/**
 * Token settings from `KINTO_TOKEN_LIFETIME_SECONDS` (default 3600, 60 to 86400) and
 * `KINTO_TOKEN_ISSUER` (default "kinto"), the same names locally and on AWS.
 */
export function tokenSettingsFrom(env: Readonly<Record<string, string | undefined>>): TokenSettings {
  const raw = env.KINTO_TOKEN_LIFETIME_SECONDS;
  const lifetimeSeconds = raw === undefined || raw === '' ? DEFAULT_TOKEN_LIFETIME_SECONDS : Number(raw);
  if (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds < 60 || lifetimeSeconds > MAX_TOKEN_LIFETIME_SECONDS) {
    throw new Error(
      `KINTO_TOKEN_LIFETIME_SECONDS must be a whole number from 60 to ${MAX_TOKEN_LIFETIME_SECONDS} (got ${JSON.stringify(raw)}).`,
    );
  }
  return { issuer: env.KINTO_TOKEN_ISSUER || 'kinto', lifetimeSeconds };
}

export interface IssuedToken {
  readonly token: string;
  /** Seconds until it expires. */
  readonly expiresIn: number;
  readonly expiresAt: string;
}

/** Reads credentials from a parsed JSON body. @throws KintoError INVALID_CREDENTIALS_FORMAT (400) */
export function parseCredentials(body: unknown): Credentials {
  const b = (body ?? {}) as Record<string, unknown>;
  const clientId = b.clientId;
  const secret = b.secret ?? b.clientSecret;
  if (
    typeof body !== 'object' ||
    body === null ||
    Array.isArray(body) ||
    typeof clientId !== 'string' ||
    typeof secret !== 'string' ||
    (b.secret !== undefined && b.clientSecret !== undefined)
  ) {
    throw badRequest(
      'INVALID_CREDENTIALS_FORMAT',
      'Send JSON {"clientId": "<client id>", "secret": "<client secret>"} ("clientSecret" is accepted instead of "secret", not both).',
    );
  }
  return { clientId, secret };
}

const WRONG = () =>
  unauthorized(
    'INVALID_CREDENTIALS',
    'The client id or secret is wrong. Copy them again from the environment (a rotated secret replaces the old one; a revoked client cannot authorize).',
  );

/**
 * Exchanges a client's credentials for a token of its environment. The secret is compared in
 * constant time, and a hash is computed even for an unknown client so both paths cost the same.
 * @throws KintoError INVALID_CREDENTIALS (401)
 */
export async function authorize(
  ctx: Pick<CoreContext, 'store' | 'clock' | 'ids' | 'keys'>,
  envId: string,
  credentials: Credentials,
  settings: TokenSettings,
): Promise<IssuedToken> {
  const keys = await requireKeys(ctx);
  const { clientId, secret } = credentials;
  if (!CLIENT_ID_PATTERN.test(clientId) || secret.length > MAX_SECRET_LENGTH) throw WRONG();
  const client = await ctx.store.clients.get({ envId, clientId });
  const stored = client?.secretHash ?? hashClientSecret(keys.clientSecretKey, clientId, `${secret}\0unknown-client`);
  if (!clientSecretMatches(keys.clientSecretKey, clientId, secret, stored) || !client) throw WRONG();
  const issuedAt = Math.floor(ctx.clock.now().getTime() / 1000);
  const token = await signToken(keys.tokenKey, {
    issuer: settings.issuer,
    envId,
    clientId,
    generation: client.generation,
    tokenId: ctx.ids.randomId(),
    issuedAt,
    lifetimeSeconds: settings.lifetimeSeconds,
  });
  return { token, expiresIn: settings.lifetimeSeconds, expiresAt: new Date((issuedAt + settings.lifetimeSeconds) * 1000).toISOString() };
}
