import { jwtVerify, type JWTPayload } from 'jose';
import type { webcrypto } from 'node:crypto';
import { TOKEN_ALGORITHM } from './platform-keys';

/**
 * Token verification: the one function the local gateway and the AWS Lambda authorizer share.
 * Keep this file's imports small: it is bundled into the authorizer (size and cold start count).
 */

/** Why a token was refused. Callers show the code; the message says what to do. */
export type TokenRejection =
  | 'TOKEN_MISSING'
  | 'TOKEN_MALFORMED'
  | 'TOKEN_INVALID'
  | 'TOKEN_EXPIRED'
  | 'TOKEN_NOT_YET_VALID'
  | 'TOKEN_WRONG_ENVIRONMENT'
  | 'TOKEN_REVOKED';

export type Verification =
  | { readonly ok: true; readonly envId: string; readonly clientId: string; readonly tokenId: string; readonly expiresAt: number }
  | { readonly ok: false; readonly code: TokenRejection; readonly message: string };

/** What the verifier needs to know of a client: that it exists, and its secret generation. */
export interface ClientStatus {
  readonly generation: number;
}

/** Reads a client's status from the store; `undefined` when the client does not exist (revoked). */
export type ClientStatusLookup = (envId: string, clientId: string) => Promise<ClientStatus | undefined>;

export interface TokenVerifierOptions {
  /** The HS256 key, imported once (see `importTokenKey`). */
  readonly key: webcrypto.CryptoKey;
  /** Expected `iss`. */
  readonly issuer: string;
  readonly clientStatus: ClientStatusLookup;
  /**
   * How long a verified token, and a client's status, are trusted without asking the store again.
   * In one process that is told of every change (`forgetClient`), until the token expires.
   * @default Infinity - until the token expires; client statuses until `forgetClient`
   */
  readonly cacheMs?: number;
  /** @default 10000 - verified tokens kept; the oldest goes first */
  readonly maxEntries?: number;
  /** Tokens whose `exp - iat` is longer are refused (we never sign those). @default MAX_TOKEN_LIFETIME_SECONDS (one day) */
  readonly maxLifetimeSeconds?: number;
  /** @default 5 */
  readonly clockToleranceSeconds?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Longest token lifetime that may be configured, and that verification accepts: one day. */
export const MAX_TOKEN_LIFETIME_SECONDS = 86_400;

/** Longest header value looked at: a Kinto token is ~330 characters. */
export const MAX_TOKEN_HEADER_LENGTH = 4096;

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const BEARER = /^bearer(?:[ \t]+|$)/i;
const CLIENT_ID = /^[0-9a-f]{32}$/;

const reject = (code: TokenRejection, message: string): Verification => ({ ok: false, code, message });
const MISSING = reject(
  'TOKEN_MISSING',
  'Send a token in the Kinto-Authorization header. Get one with POST <gateway URL>/authorize {"clientId": "...", "secret": "..."}.',
);
const MALFORMED = reject(
  'TOKEN_MALFORMED',
  'The Kinto-Authorization header does not hold a token: send "Kinto-Authorization: <token>" (a "Bearer " prefix is accepted) with the token from POST /authorize.',
);
const INVALID = reject('TOKEN_INVALID', 'The token is not one this platform issued. Get a new one with POST <gateway URL>/authorize.');
const EXPIRED = reject('TOKEN_EXPIRED', 'The token has expired. Get a new one with POST <gateway URL>/authorize.');
const NOT_YET = reject(
  'TOKEN_NOT_YET_VALID',
  "The token is not valid yet (its issue time is in the future): check this machine's clock, or get a new token.",
);
const WRONG_ENV = reject(
  'TOKEN_WRONG_ENVIRONMENT',
  "The token was issued for another environment. Authorize with this environment's client: POST <this gateway URL>/authorize.",
);
const REVOKED = reject(
  'TOKEN_REVOKED',
  'The client of this token was revoked or its secret rotated. Authorize again with the current secret.',
);

/**
 * The cheap checks alone: the token of a header value when it has the shape of a compact JWS,
 * else the rejection. For callers that answer missing or malformed headers before loading keys.
 */
export function readToken(value: string | undefined): string | Verification {
  const token = tokenFromHeader(value);
  return typeof token === 'string' && !JWT_SHAPE.test(token) ? MALFORMED : token;
}

/** The token in a `Kinto-Authorization` value: trimmed, `Bearer ` prefix (any case) dropped. */
export function tokenFromHeader(value: string | undefined): string | Verification {
  if (value === undefined || value.length === 0) return MISSING;
  if (value.length > MAX_TOKEN_HEADER_LENGTH) return MALFORMED;
  let token = value.trim();
  // A JWT starts with "eyJ"; only a "Bearer" prefix starts with b/B.
  const first = token.charCodeAt(0);
  if (first === 66 || first === 98) token = token.replace(BEARER, '');
  if (token.length === 0) return MISSING;
  return token;
}

interface ClientRecord {
  readonly generation: number | undefined;
  readonly until: number;
  valid: boolean;
}

interface Entry {
  readonly result: Verification & { ok: true };
  readonly until: number;
  readonly client: ClientRecord;
}

/**
 * Verifies `Kinto-Authorization` values for an environment. A token is checked once, fully
 * (signature, algorithm, claims, client status), then served from memory until it expires (or
 * `cacheMs` passes); `forgetClient` makes every cached token of a client invalid at once.
 * On a cache hit `verify` answers synchronously.
 *
 * @example
 * const verifier = new TokenVerifier({ key: await importTokenKey(material), issuer: 'kinto', clientStatus });
 * const v = await verifier.verify(headers['kinto-authorization'], envId);
 * if (v.ok) forwardWith(v.clientId);
 */
export class TokenVerifier {
  private readonly entries = new Map<string, Entry>();
  private readonly clients = new Map<string, ClientRecord>();
  private readonly lookups = new Map<string, Promise<ClientRecord>>();
  private readonly now: () => number;
  private readonly cacheMs: number;
  private readonly maxEntries: number;
  /** Bumped by `forgetClient`: a check that started before a change does not cache what it read. */
  private epoch = 0;

  constructor(private readonly options: TokenVerifierOptions) {
    this.now = options.now ?? Date.now;
    this.cacheMs = options.cacheMs ?? Infinity;
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  /** Verifies a header value for `envId`; synchronous when the token is cached. */
  verify(header: string | undefined, envId: string): Verification | Promise<Verification> {
    const token = tokenFromHeader(header);
    if (typeof token !== 'string') return token;
    const entry = this.entries.get(token);
    if (entry !== undefined) {
      const now = this.now();
      if (entry.until > now && entry.client.valid && entry.client.until > now) {
        return entry.result.envId === envId ? entry.result : WRONG_ENV;
      }
      this.entries.delete(token);
    }
    if (!JWT_SHAPE.test(token)) return MALFORMED;
    return this.verifyFully(token, envId);
  }

  /** Drops what is cached about a client (rotated or revoked): its tokens are checked again. */
  forgetClient(envId: string, clientId: string): void {
    this.epoch++;
    const key = clientKey(envId, clientId);
    const record = this.clients.get(key);
    if (record) record.valid = false;
    this.clients.delete(key);
    this.lookups.delete(key);
  }

  /** Number of verified tokens held (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  private async verifyFully(token: string, envId: string): Promise<Verification> {
    const epoch = this.epoch;
    const now = this.now();
    const tolerance = this.options.clockToleranceSeconds ?? 5;
    const maxLifetime = this.options.maxLifetimeSeconds ?? MAX_TOKEN_LIFETIME_SECONDS;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.options.key, {
        algorithms: [TOKEN_ALGORITHM],
        issuer: this.options.issuer,
        typ: 'JWT',
        requiredClaims: ['iss', 'aud', 'sub', 'iat', 'exp', 'jti'],
        maxTokenAge: maxLifetime,
        clockTolerance: tolerance,
        currentDate: new Date(now),
      }));
    } catch (e) {
      return rejectionOf(e);
    }
    const { aud, sub, exp, iat, jti, gen } = payload as JWTPayload & { gen?: unknown };
    if (typeof sub !== 'string' || !CLIENT_ID.test(sub) || typeof jti !== 'string' || !Number.isSafeInteger(gen) || (gen as number) < 1)
      return INVALID;
    if (exp! - iat! > maxLifetime) return INVALID;
    if (aud !== envId) return typeof aud === 'string' ? WRONG_ENV : INVALID;
    const known = this.clientRecord(envId, sub);
    const client = 'then' in known ? await known : known;
    if (client.generation === undefined || client.generation !== gen) return REVOKED;
    const result = { ok: true as const, envId, clientId: sub, tokenId: jti, expiresAt: exp! * 1000 };
    if (epoch === this.epoch && client.valid) {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(token, { result, client, until: Math.min(exp! * 1000, now + this.cacheMs) });
    }
    return result;
  }

  private clientRecord(envId: string, clientId: string): ClientRecord | Promise<ClientRecord> {
    const key = clientKey(envId, clientId);
    const known = this.clients.get(key);
    if (known && known.valid && known.until > this.now()) return known;
    let pending = this.lookups.get(key);
    if (!pending) {
      const epoch = this.epoch;
      pending = this.options.clientStatus(envId, clientId).then(
        (status) => {
          const record: ClientRecord = { generation: status?.generation, until: this.now() + this.cacheMs, valid: true };
          if (this.lookups.get(key) === pending) this.lookups.delete(key);
          if (epoch === this.epoch) {
            if (this.clients.size >= this.maxEntries) this.clients.delete(this.clients.keys().next().value!);
            this.clients.set(key, record);
          } else {
            record.valid = false;
          }
          return record;
        },
        (e) => {
          if (this.lookups.get(key) === pending) this.lookups.delete(key);
          throw e;
        },
      );
      this.lookups.set(key, pending);
    }
    return pending;
  }
}

const clientKey = (envId: string, clientId: string): string => `${envId}/${clientId}`;

function rejectionOf(e: unknown): Verification {
  const { code, claim, reason } = (e ?? {}) as { code?: string; claim?: string; reason?: string };
  if (code === 'ERR_JWT_EXPIRED') return EXPIRED;
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && (claim === 'nbf' || claim === 'iat') && reason === 'check_failed') return NOT_YET;
  if (typeof code === 'string' && code.startsWith('ERR_J')) return INVALID;
  // Not a verdict on the token (e.g. a broken key): the caller answers 500 and logs it.
  throw e;
}
