import { MAX_TOKEN_LIFETIME_SECONDS, tokenSettingsFrom, type TokenSettings } from '../../core/auth/authorize';
import { BasicAuthChecker } from '../../core/auth/basic-auth';
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

const deny = (status: number, code: string, message: string, headers?: Record<string, string>): GuardDecision => ({ allow: false, status, code, message, ...(headers ? { headers } : {}) });

/** One prebuilt answer per rejection: the hot path allocates nothing. */
const tokenDenials = new Map<TokenRejection, GuardDecision>();
function tokenDenial(v: Verification & { ok: false }): GuardDecision {
  let d = tokenDenials.get(v.code);
  if (!d) {
    const challenge = v.code === 'TOKEN_MISSING' ? 'Bearer realm="kinto"' : `Bearer realm="kinto", error="invalid_token", error_description="${v.code}"`;
    d = deny(401, v.code, v.message, { 'www-authenticate': challenge });
    tokenDenials.set(v.code, d);
  }
  return d;
}

/**
 * What the local gateway checks on each request, from the same core as the AWS authorizer:
 * - `guard`: per block visibility. `protected` needs a valid `Kinto-Authorization` token (the
 *   block gets `kinto-client-id`; the header itself never reaches it: the gateway drops every
 *   `kinto-*` header), `public` needs nothing, `internal` is served only through the
 *   environment's internal entry. Websites with basic auth also need the password (checked with
 *   scrypt once per distinct header, then remembered);
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

  function guard({ block, headers, internal, env }: GuardRequest): GuardDecision | Promise<GuardDecision> {
    // Internal entry: one of this environment's own blocks calling; the gateway checked its key.
    if (internal) return ALLOW;
    const config = block.planned.config;
    if (config.visibility === 'internal') {
      return deny(404, 'BLOCK_INTERNAL', `Block "${block.name}" is internal: only the blocks of this environment reach it (through KINTO_BLOCK_*_URL). Set its visibility to "protected" or "public" to call it from outside.`);
    }
    if (config.visibility === 'public') return withBasicAuth(block.name, env.envId, config.basicAuth, headers, undefined);
    const verified = verifier.verify(headers['kinto-authorization'] as string | undefined, env.envId);
    if ('then' in verified) return verified.then((v) => afterToken(v, block.name, env.envId, config.basicAuth, headers));
    return afterToken(verified, block.name, env.envId, config.basicAuth, headers);
  }

  function afterToken(v: Verification, blockName: string, envId: string, auth: BasicAuth | undefined, headers: GuardRequest['headers']) {
    if (!v.ok) return tokenDenial(v);
    return withBasicAuth(blockName, envId, auth, headers, v.clientId);
  }

  function withBasicAuth(
    blockName: string,
    envId: string,
    auth: BasicAuth | undefined,
    headers: GuardRequest['headers'],
    clientId: string | undefined,
  ): GuardDecision | Promise<GuardDecision> {
    const allowed: GuardDecision = clientId ? { allow: true, clientId, ...(auth ? { stripAuthorization: true } : {}) } : auth ? { allow: true, stripAuthorization: true } : ALLOW;
    if (!auth) return allowed;
    const denied = deny(401, 'BASIC_AUTH_REQUIRED', `Website "${blockName}" is password protected: sign in with its username and password.`, {
      'www-authenticate': `Basic realm="${blockName}", charset="UTF-8"`,
    });
    const ok = basic.check(headers.authorization, auth, `${envId}/${blockName}`);
    if (typeof ok === 'boolean') return ok ? allowed : denied;
    return ok.then((passed) => (passed ? allowed : denied));
  }

  return {
    verifier,
    guard,
    /** For the gateway: is this the internal entry key of `envId`? */
    internalKey: (envId: string, key: string): boolean => internalEntryKeyMatches(options.keys.internalEntryKey, envId, key),
    /** For the runtime: the base of `KINTO_BLOCK_<NAME>_URL` in an environment, `<gateway URL>/_internal/<key>`. */
    internalUrl: (gatewayUrl: string, envId: string): string => `${gatewayUrl}/_internal/${internalEntryKeyOf(options.keys.internalEntryKey, envId)}`,
    /** A client was rotated or revoked: its cached tokens go. */
    forgetClient: (envId: string, clientId: string): void => verifier.forgetClient(envId, clientId),
  };
}
