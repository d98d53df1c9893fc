import type { IncomingMessage, ServerResponse } from 'node:http';
import { authorize, MAX_TOKEN_LIFETIME_SECONDS, parseCredentials, tokenSettingsFrom, type TokenSettings } from '../../core/auth/authorize';
import { BasicAuthChecker } from '../../core/auth/basic-auth';
import { CLIENT_ID_PATTERN } from '../../core/auth/clients';
import { FailureLimiter, type FailureLimiterOptions } from '../../core/auth/failure-limiter';
import { internalEntryKeyMatches, internalEntryKeyOf } from '../../core/auth/internal-entry';
import type { DerivedKeys } from '../../core/auth/platform-keys';
import { TokenVerifier, type TokenRejection, type Verification } from '../../core/auth/verify-token';
import type { CoreContext } from '../../core/context';
import type { BasicAuth } from '../../core/model';
import { isKintoError, KintoError } from '../../core/errors';
import type { GatewayRouteHandler, GuardDecision, GuardRequest } from './gateway';

export interface LocalGatewayAuthOptions {
  /** The core's ports (built after the gateway: read on use). */
  readonly ctx: () => CoreContext;
  readonly keys: DerivedKeys;
  readonly tokens: TokenSettings;
  /** Failed `/authorize` attempts allowed per client id. @default 5 per minute */
  readonly limiter?: FailureLimiterOptions;
}

/** Largest `/authorize` body read. */
const MAX_AUTHORIZE_BODY = 16 * 1024;

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
 * Authentication for the local gateway, from the same core as the AWS authorizer:
 * - `routes`: `POST <gateway URL>/authorize` exchanges client credentials for a token, with
 *   failures rate-limited per client id (429 + Retry-After);
 * - `guard`: per block visibility. `protected` needs a valid `Kinto-Authorization` token (the
 *   block gets `kinto-client-id`; the header itself never reaches it: the gateway drops every
 *   `kinto-*` header), `public` needs nothing, `internal` is served only through the
 *   environment's internal entry. Websites with basic auth also need the password (checked with
 *   scrypt once per distinct header, then remembered);
 * - `internalKey` / `internalUrl`: the environment's internal entry (see `internal-entry.ts`).
 */
export function createLocalGatewayAuth(options: LocalGatewayAuthOptions) {
  const verifier = new TokenVerifier({
    key: options.keys.tokenKey,
    issuer: options.tokens.issuer,
    maxLifetimeSeconds: MAX_TOKEN_LIFETIME_SECONDS,
    // Every change to a client goes through this process's core, which calls `forgetClient`:
    // cached tokens are trusted until they expire.
    clientStatus: async (envId, clientId) => options.ctx().store.clients.get({ envId, clientId }),
  });
  const limiter = new FailureLimiter(options.limiter);
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

  const routes: GatewayRouteHandler = (envId, path, req, res, requestId) => {
    if (path !== '/authorize' || req.method !== 'POST') return false;
    void handleAuthorize(envId, req, res, requestId);
    return true;
  };

  async function handleAuthorize(envId: string, req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    try {
      const body = await readJson(req);
      const credentials = parseCredentials(body);
      const limitKey = `${envId}:${credentials.clientId.slice(0, 64)}`;
      const wait = limiter.retryAfterSeconds(limitKey);
      if (wait > 0) {
        return send(res, 429, { error: { code: 'TOO_MANY_ATTEMPTS', message: `Too many failed attempts for this client id; retry in ${wait} s.`, requestId } }, { 'retry-after': String(wait) });
      }
      try {
        const issued = await authorize(options.ctx(), envId, credentials, options.tokens);
        limiter.succeeded(limitKey);
        send(res, 200, { data: issued });
      } catch (e) {
        // Only failures against a real client count: invented ids guess nothing, and counting them
        // would let anyone flood the limiter's table and push a real client's count out of it.
        if (isKintoError(e) && e.status === 401 && CLIENT_ID_PATTERN.test(credentials.clientId)) {
          if (await options.ctx().store.clients.get({ envId, clientId: credentials.clientId })) limiter.failed(limitKey);
        }
        throw e;
      }
    } catch (e) {
      if (isKintoError(e)) {
        const extra: Record<string, string> = e.status === 401 ? { 'www-authenticate': 'Bearer realm="kinto"' } : e.status === 413 ? { connection: 'close' } : {};
        return send(res, e.status, { error: { code: e.code, message: e.message, ...(e.status >= 500 ? { requestId } : {}) } }, extra);
      }
      console.error(JSON.stringify({ level: 'error', message: 'authorize failed', requestId, error: String((e as Error)?.stack ?? e) }));
      send(res, 500, { error: { code: 'INTERNAL', message: `Something went wrong in the gateway. Quote request id ${requestId} when you report it.`, requestId } });
    }
  }

  return {
    verifier,
    guard,
    routes,
    /** For the gateway: is this the internal entry key of `envId`? */
    internalKey: (envId: string, key: string): boolean => internalEntryKeyMatches(options.keys.internalEntryKey, envId, key),
    /** For the runtime: the base of `KINTO_BLOCK_<NAME>_URL` in an environment, `<gateway URL>/_internal/<key>`. */
    internalUrl: (gatewayUrl: string, envId: string): string => `${gatewayUrl}/_internal/${internalEntryKeyOf(options.keys.internalEntryKey, envId)}`,
    /** For the core: a client was rotated or revoked. */
    onClientChange: (envId: string, clientId: string): void => verifier.forgetClient(envId, clientId),
  };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return void res.destroy();
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

/** Reads a small JSON body; 413 past the limit, 400 when it does not parse. */
function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_AUTHORIZE_BODY) {
        req.pause();
        reject(new KintoError(413, 'PAYLOAD_TOO_LARGE', `Send {"clientId": "...", "secret": "..."}: at most ${MAX_AUTHORIZE_BODY} bytes.`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      if (size > MAX_AUTHORIZE_BODY) return;
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        resolve(undefined);
      }
    });
  });
}
