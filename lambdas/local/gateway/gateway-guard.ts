import { MAX_TOKEN_LIFETIME_SECONDS, tokenSettingsFrom, type TokenSettings } from '../../core/auth/authorize';
import { BasicAuthChecker, type BasicAuthVerdict } from '../../core/auth/basic-auth';
import { internalEntryKeyMatches, internalEntryKeyOf } from '../../core/auth/internal-entry';
import type { DerivedKeys } from '../../core/auth/platform-keys';
import { TokenVerifier, type ClientStatusLookup, type TokenRejection, type Verification } from '../../core/auth/verify-token';
import type { BasicAuth } from '../../core/model';
import type { GuardDecision, GuardRequest } from './gateway';

export interface GatewayGuardOptions {
  readonly keys: Pick<DerivedKeys, 'tokenKey' | 'internalEntryKey'>;
  readonly tokens: TokenSettings;
  /** A token's client as the store has it (asked once per client, then cached until `forgetClient`). */
  readonly clientStatus: ClientStatusLookup;
}

/** Token settings from the process environment (see `tokenSettingsFrom`). */
export const readTokenSettings = (env: NodeJS.ProcessEnv = process.env): TokenSettings => tokenSettingsFrom(env);

const ALLOW: GuardDecision = { allow: true };

const deny = (status: number, code: string, message: string, headers?: Record<string, string>): GuardDecision => ({
  allow: false,
  status,
  code,
  message,
  ...(headers ? { headers } : {}),
});

/** One prebuilt answer per rejection: the hot path allocates nothing. */
const tokenDenials = new Map<TokenRejection, GuardDecision>();
function tokenDenial(v: Verification & { ok: false }): GuardDecision {
  let d = tokenDenials.get(v.code);
  if (!d) {
    const challenge =
      v.code === 'TOKEN_MISSING' ? 'Bearer realm="kinto"' : `Bearer realm="kinto", error="invalid_token", error_description="${v.code}"`;
    d = deny(401, v.code, v.message, { 'www-authenticate': challenge });
    tokenDenials.set(v.code, d);
  }
  return d;
}

/**
 * Whom wrong passwords are counted against: the caller's address, IPv4 as it is (also when
 * IPv4-mapped), IPv6 by its /64 (one host commonly holds a whole /64). Unknown: one shared key.
 */
function clientKey(address: string | undefined): string {
  if (!address) return '?';
  if (address.startsWith('::ffff:') && address.includes('.')) return address.slice(7);
  if (!address.includes(':')) return address;
  const [head = '', tail = ''] = address.split('::', 2);
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::')
    ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/**
 * What the local gateway checks on each request, from the same core as the AWS authorizer:
 * - `guard`: per block visibility. `protected` needs a valid `Kinto-Authorization` token (the
 *   block gets `kinto-client-id`; the header itself never reaches it: the gateway drops every
 *   `kinto-*` header), `public` needs nothing, `internal` is served only through the
 *   environment's internal entry. Websites with basic auth also need the password (checked with
 *   scrypt once per distinct header, then remembered; wrong ones throttled per caller address);
 * - `internalKey` / `internalUrl`: the environment's internal entry (see `internal-entry.ts`).
 * Tokens are issued by `POST /authorize` (authorize-route.ts).
 */
export function createGatewayGuard(options: GatewayGuardOptions) {
  const verifier = new TokenVerifier({
    key: options.keys.tokenKey,
    issuer: options.tokens.issuer,
    maxLifetimeSeconds: MAX_TOKEN_LIFETIME_SECONDS,
    // Every change to a client goes through the platform's core, which has `forgetClient` called
    // before it answers: cached tokens are trusted until they expire.
    clientStatus: options.clientStatus,
  });
  const basic = new BasicAuthChecker();

  function guard({ block, headers, internal, env, remoteAddress }: GuardRequest): GuardDecision | Promise<GuardDecision> {
    // Internal entry: one of this environment's own blocks calling; the gateway checked its key.
    if (internal) return ALLOW;
    const config = block.planned.config;
    if (config.visibility === 'internal') {
      return deny(
        404,
        'BLOCK_INTERNAL',
        `Block "${block.name}" is internal: only the blocks of this environment reach it (through KINTO_BLOCK_*_URL). Set its visibility to "protected" or "public" to call it from outside.`,
      );
    }
    if (config.visibility === 'public') return withBasicAuth(block.name, env.envId, config.basicAuth, headers, remoteAddress, undefined);
    const verified = verifier.verify(headers['kinto-authorization'] as string | undefined, env.envId);
    if ('then' in verified) return verified.then((v) => afterToken(v, block.name, env.envId, config.basicAuth, headers, remoteAddress));
    return afterToken(verified, block.name, env.envId, config.basicAuth, headers, remoteAddress);
  }

  function afterToken(
    v: Verification,
    blockName: string,
    envId: string,
    auth: BasicAuth | undefined,
    headers: GuardRequest['headers'],
    remoteAddress: string | undefined,
  ) {
    if (!v.ok) return tokenDenial(v);
    return withBasicAuth(blockName, envId, auth, headers, remoteAddress, v.clientId);
  }

  function withBasicAuth(
    blockName: string,
    envId: string,
    auth: BasicAuth | undefined,
    headers: GuardRequest['headers'],
    remoteAddress: string | undefined,
    clientId: string | undefined,
  ): GuardDecision | Promise<GuardDecision> {
    const allowed: GuardDecision = clientId
      ? { allow: true, clientId, ...(auth ? { stripAuthorization: true } : {}) }
      : auth
        ? { allow: true, stripAuthorization: true }
        : ALLOW;
    if (!auth) return allowed;
    const decide = (verdict: BasicAuthVerdict): GuardDecision => {
      if (verdict === true) return allowed;
      if (verdict === false) {
        return deny(401, 'BASIC_AUTH_REQUIRED', `Website "${blockName}" is password protected: sign in with its username and password.`, {
          'www-authenticate': `Basic realm="${blockName}", charset="UTF-8"`,
        });
      }
      const retryAfter = { 'retry-after': String(verdict.retryAfterSeconds) };
      if (verdict.reason === 'throttled') {
        return deny(
          429,
          'TOO_MANY_ATTEMPTS',
          `Too many wrong passwords for website "${blockName}" from your address; retry in ${verdict.retryAfterSeconds} s.`,
          retryAfter,
        );
      }
      return deny(
        503,
        'BASIC_AUTH_BUSY',
        `Too many sign-ins are being checked right now; retry in ${verdict.retryAfterSeconds} s.`,
        retryAfter,
      );
    };
    const verdict = basic.check(headers.authorization, auth, `${envId}/${blockName}`, clientKey(remoteAddress));
    return typeof verdict === 'object' && 'then' in verdict ? verdict.then(decide) : decide(verdict);
  }

  return {
    verifier,
    guard,
    /** For the gateway: is this the internal entry key of `envId`? */
    internalKey: (envId: string, key: string): boolean => internalEntryKeyMatches(options.keys.internalEntryKey, envId, key),
    /** For the runtime: the base of `KINTO_BLOCK_<NAME>_URL` in an environment, `<gateway URL>/_internal/<key>`. */
    internalUrl: (gatewayUrl: string, envId: string): string =>
      `${gatewayUrl}/_internal/${internalEntryKeyOf(options.keys.internalEntryKey, envId)}`,
    /** A client was rotated or revoked: its cached tokens go. */
    forgetClient: (envId: string, clientId: string): void => verifier.forgetClient(envId, clientId),
  };
}
