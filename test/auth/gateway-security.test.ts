import { rmSync } from 'node:fs';
import { request } from 'node:http';
import fc from 'fast-check';
import { createGitRepo } from '../support/git-repo';
import { startHitRecorder, type HitRecorder } from '../support/hit-recorder';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { clientToken } from '../support/client-token';
import { tokenKeyBytes } from '../../lambdas/core/auth/platform-keys';
import { claimsOf, forgeToken, keyMaterialOf, sameTokenBytes, unsignedToken } from './forge';

/**
 * The security suite over the real local gateway: real platform, real block processes started by
 * the runtime. Every block appends each request it receives to a hits file, so "never reached" is
 * checked on the block's side, not inferred from a status code.
 */

const SERVER = `
const http = require('http');
http.createServer(async (req, res) => {
  await fetch(process.env.HITS_URL + '/' + process.env.KINTO_ENVIRONMENT + '-' + process.env.KINTO_BLOCK, { method: 'POST', body: req.url });
  res.setHeader('content-type', 'application/json');
  if (req.url.startsWith('/call/')) {
    const name = req.url.slice(6);
    const url = process.env['KINTO_BLOCK_' + name.toUpperCase().replace(/-/g, '_') + '_URL'];
    try {
      const r = await fetch(url + '/ping');
      return res.end(JSON.stringify({ status: r.status, body: await r.text(), url }));
    } catch (e) {
      res.statusCode = 500;
      return res.end(JSON.stringify({ error: String(e), url }));
    }
  }
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => res.end(JSON.stringify({
    block: process.env.KINTO_BLOCK,
    path: req.url,
    headers: req.headers,
    body,
    urls: Object.fromEntries(Object.entries(process.env).filter(([k]) => /^KINTO_BLOCK_.*_URL$/.test(k))),
  })));
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: any;
}

/** A raw HTTP call: header names are sent exactly as given (case included). */
function call(url: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}),
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode!, headers: res.headers, text, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('Feature: gateway authentication (local gateway, real blocks)', () => {
  let kinto: TestPlatform;
  let recorder: HitRecorder;
  let repo: string;
  const env: Record<'dev' | 'prod', { id: string; url: string; clientId: string; secret: string }> = {} as never;
  let material: Buffer;

  const hits = (envName: string, block: string): string[] => recorder.lines(`${envName}-${block}`);
  const authorize = (envName: 'dev' | 'prod', body: unknown) =>
    call(`${env[envName].url}/authorize`, {}, 'POST', typeof body === 'string' ? body : JSON.stringify(body));
  const tokenFor = async (envName: 'dev' | 'prod', clientId = env[envName].clientId, secret = env[envName].secret): Promise<string> => {
    const res = await authorize(envName, { clientId, secret });
    expect(res.status).toBe(200);
    return res.body.data.token;
  };

  beforeAll(async () => {
    recorder = await startHitRecorder();
    repo = createGitRepo({ 'server.js': SERVER, 'site/index.html': '<h1>members only</h1>\n' });
    kinto = await startTestPlatform();
    material = keyMaterialOf(kinto.home);
    const ok = (r: { status: number; body: any }, status: number) => {
      if (r.status !== status) throw new Error(`expected ${status}, got ${r.status}: ${JSON.stringify(r.body)}`);
      return r.body;
    };
    ok(await kinto.api('POST', '/v1/projects', { name: 'sec' }), 201);
    const service = (name: string) => ({
      name,
      type: 'microservice',
      source: { repo, branch: 'main' },
      build: { startCommand: 'node server.js' },
      variables: { HITS_URL: { default: recorder.url } },
    });
    for (const name of ['api', 'hook', 'vault', 'caller']) ok(await kinto.api('POST', '/v1/projects/sec/blocks', service(name)), 201);
    ok(
      await kinto.api('POST', '/v1/projects/sec/blocks', {
        name: 'site',
        type: 'website',
        kind: 'static',
        source: { repo, branch: 'main', subfolder: 'site' },
      }),
      201,
    );
    for (const name of ['dev', 'prod'] as const) {
      const created = ok(await kinto.api('POST', '/v1/projects/sec/environments', { name }), 201).data;
      env[name] = { id: created.id, url: created.gatewayUrl, clientId: created.client.clientId, secret: created.client.secret };
      ok(await kinto.api('PUT', `/v1/projects/sec/environments/${name}/blocks/hook/config`, { visibility: 'public' }), 200);
      ok(await kinto.api('PUT', `/v1/projects/sec/environments/${name}/blocks/caller/config`, { visibility: 'public' }), 200);
      ok(await kinto.api('PUT', `/v1/projects/sec/environments/${name}/blocks/vault/config`, { visibility: 'internal' }), 200);
    }
    ok(
      await kinto.api('PUT', '/v1/projects/sec/environments/dev/blocks/site/config', {
        basicAuth: { username: 'ann', password: 'correct horse' },
      }),
      200,
    );
    for (const name of ['api', 'hook', 'vault', 'caller', 'site']) await kinto.buildBlock('sec', name);
    ok(await kinto.api('POST', '/v1/projects/sec/releases', { version: '1.0.0' }), 201);
    for (const name of ['dev', 'prod']) expect((await kinto.deploy('sec', name, { release: '1.0.0' })).status).toBe('succeeded');
  }, 120_000);

  afterAll(async () => {
    await kinto?.stop();
    await recorder.close();
    rmSync(repo, { recursive: true, force: true });
  });

  describe('Function: client credentials', () => {
    it('creating an environment shows its first client and secret once; listings never show secrets', async () => {
      expect(env.dev.clientId).toMatch(/^[0-9a-f]{32}$/);
      expect(Buffer.from(env.dev.secret, 'base64url')).toHaveLength(32);
      const list = await kinto.api('GET', '/v1/projects/sec/environments/dev/clients');
      expect(list.status).toBe(200);
      expect(list.body.data).toEqual([{ clientId: env.dev.clientId, name: 'default', createdAt: expect.any(String), rotatedAt: null }]);
      expect(JSON.stringify(list.body)).not.toContain(env.dev.secret);
      const got = await kinto.api('GET', `/v1/projects/sec/environments/dev/clients/${env.dev.clientId}`);
      expect(got.body.data).not.toHaveProperty('secret');
    });

    it('stores only a keyed hash of the secret', async () => {
      const stored = await kinto.ctx.store.clients.get({ envId: env.dev.id, clientId: env.dev.clientId });
      expect(stored!.secretHash).toMatch(/^hmac-sha256\$[A-Za-z0-9_-]{43}$/);
      expect(JSON.stringify(stored)).not.toContain(env.dev.secret);
    });

    it('answers 404 for unknown clients and environments, saying how to list them', async () => {
      const unknown = await kinto.api('POST', `/v1/projects/sec/environments/dev/clients/${'0'.repeat(32)}/rotate`);
      expect(unknown.status).toBe(404);
      expect(unknown.body.error).toMatchObject({
        code: 'CLIENT_NOT_FOUND',
        message: expect.stringContaining('GET .../environments/dev/clients'),
      });
      expect((await kinto.api('DELETE', '/v1/projects/sec/environments/dev/clients/not-an-id')).status).toBe(404);
      expect((await kinto.api('GET', '/v1/projects/sec/environments/nope/clients')).body.error.code).toBe('ENVIRONMENT_NOT_FOUND');
      expect((await kinto.api('POST', '/v1/projects/sec/environments/dev/clients', { name: 'x', extra: 1 })).status).toBe(400);
    });

    it('needs the admin token', async () => {
      const res = await fetch(`${kinto.url}/v1/projects/sec/environments/dev/clients`, { method: 'POST' });
      expect(res.status).toBe(401);
    });
  });

  describe('Function: POST <gateway URL>/authorize', () => {
    it('returns a signed token with iss, aud = environment, sub = client, iat, exp and jti', async () => {
      const res = await authorize('dev', { clientId: env.dev.clientId, secret: env.dev.secret });
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['kinto-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      const { token } = res.body.data;
      expect(JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
      const claims = claimsOf(token);
      expect(claims).toMatchObject({
        iss: 'kinto',
        aud: env.dev.id,
        sub: env.dev.clientId,
        gen: 1,
        jti: expect.stringMatching(/^[0-9a-f]{32}$/),
      });
      expect((claims.exp as number) - (claims.iat as number)).toBe(3600);
      expect(Math.abs((claims.iat as number) - Date.now() / 1000)).toBeLessThan(5);
    });

    it('accepts "clientSecret" as KintoHub docs later named it', async () => {
      const res = await authorize('dev', { clientId: env.dev.clientId, clientSecret: env.dev.secret });
      expect(res.status).toBe(200);
    });

    it.each([
      ['a wrong secret', () => ({ clientId: env.dev.clientId, secret: 'wrong' })],
      ['an unknown client', () => ({ clientId: 'f'.repeat(32), secret: env.dev.secret })],
      ["another environment's client", () => ({ clientId: env.prod.clientId, secret: env.prod.secret })],
      ['a malformed client id', () => ({ clientId: '../etc/passwd', secret: 'x' })],
    ])('answers 401 with WWW-Authenticate for %s', async (_what, body) => {
      const res = await authorize('dev', body());
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="kinto"/);
      expect(res.body.error).toMatchObject({
        code: 'INVALID_CREDENTIALS',
        message: expect.stringContaining('client id or secret is wrong'),
      });
    });

    it.each([
      ['not JSON', 'clientId=x'],
      ['an array', '[]'],
      ['both secret and clientSecret', JSON.stringify({ clientId: 'a', secret: 'b', clientSecret: 'c' })],
      ['a number for a secret', JSON.stringify({ clientId: 'a', secret: 1 })],
    ])('answers 400 for %s, showing the expected body', async (_what, body) => {
      const res = await authorize('dev', body);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'INVALID_CREDENTIALS_FORMAT', message: expect.stringContaining('{"clientId"') });
    });

    it('answers 413 for a huge body', async () => {
      const res = await authorize('dev', JSON.stringify({ clientId: 'a', secret: 'x'.repeat(64 * 1024) }));
      expect(res.status).toBe(413);
    });

    it('limits failures per client id: 429 with Retry-After, even for the right secret, other clients unaffected', async () => {
      const victim = (await kinto.api('POST', '/v1/projects/sec/environments/prod/clients', { name: 'limited' })).body.data;
      for (let i = 0; i < 5; i++) expect((await authorize('prod', { clientId: victim.clientId, secret: `guess-${i}` })).status).toBe(401);
      const blocked = await authorize('prod', { clientId: victim.clientId, secret: victim.secret });
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(blocked.headers['retry-after'])).toBeLessThanOrEqual(60);
      expect(blocked.body.error.code).toBe('TOO_MANY_ATTEMPTS');
      expect((await authorize('prod', { clientId: env.prod.clientId, secret: env.prod.secret })).status).toBe(200);
    });

    it('does not count failures for client ids that do not exist (nothing to guess, nothing to flood)', async () => {
      const ghost = 'e'.repeat(32);
      for (let i = 0; i < 8; i++) expect((await authorize('prod', { clientId: ghost, secret: `guess-${i}` })).status).toBe(401);
    });
  });

  describe('Function: random input (property)', () => {
    const contract = (status: number, body: any) =>
      status < 500 &&
      (status < 400 ||
        (typeof body?.error?.code === 'string' &&
          typeof body?.error?.message === 'string' &&
          !/\n\s+at |node_modules/.test(JSON.stringify(body))));

    it('client routes answer 4xx with the error contract, never 5xx, whatever the body or client id', async () => {
      const segment = fc.oneof(
        fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 32, maxLength: 32 }),
        fc
          .string({ maxLength: 80 })
          .map(encodeURIComponent)
          .filter((x) => x.length > 0 && x !== '.' && x !== '..'),
      );
      await fc.assert(
        fc.asyncProperty(fc.anything(), segment, fc.constantFrom('GET', 'POST', 'DELETE'), async (body, id, method) => {
          const created = await kinto.api(
            'POST',
            '/v1/projects/sec/environments/prod/clients',
            body === undefined ? undefined : JSON.stringify(body),
          );
          const path = `/v1/projects/sec/environments/prod/clients/${id}${method === 'POST' ? '/rotate' : ''}`;
          const other = await kinto.api(method, path);
          // Random ids are never a client of this environment (the created ones are 32 hex of our own).
          return (
            contract(created.status, created.body) &&
            contract(other.status, other.body) &&
            (other.status === 404 || other.status === 405 || other.status === 400)
          );
        }),
        { numRuns: 80 },
      );
    });

    it('/authorize answers 400/401/413 with the error contract, never 5xx, whatever the body', async () => {
      const body = fc.oneof(
        fc.anything().map((v) => JSON.stringify(v) ?? ''),
        fc.string({ maxLength: 300 }),
        fc
          .record({
            clientId: fc.oneof(
              fc.string(),
              fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 32, maxLength: 32 }),
              fc.anything(),
            ),
            secret: fc.anything(),
          })
          .map((v) => JSON.stringify(v)),
      );
      await fc.assert(
        fc.asyncProperty(body, async (b) => {
          const res = await authorize('prod', b);
          return contract(res.status, res.body) && [400, 401, 413, 429].includes(res.status);
        }),
        { numRuns: 150 },
      );
    });
  });

  describe('Function: protected blocks', () => {
    it('are never reached without a token: 401 JSON with WWW-Authenticate', async () => {
      const before = hits('dev', 'api').length;
      const res = await call(`${env.dev.url}/api/orders`);
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="kinto"');
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body.error).toMatchObject({ code: 'TOKEN_MISSING', message: expect.stringContaining('/authorize') });
      expect(res.headers['kinto-request-id']).toBe(res.body.error.requestId);
      expect(hits('dev', 'api').length).toBe(before);
    });

    it('are reached with a valid token; the block gets kinto-client-id and a fresh request id, nothing of the token', async () => {
      const token = await tokenFor('dev');
      const res = await call(`${env.dev.url}/api/orders?x=1`, {
        'Kinto-Authorization': token,
        'kinto-request-id': 'spoofed-id',
        'kinto-client-id': 'spoofed-client',
      });
      expect(res.status).toBe(200);
      const seen = res.body;
      expect(seen.path).toBe('/orders?x=1');
      expect(seen.headers['kinto-client-id']).toBe(env.dev.clientId);
      expect(seen.headers['kinto-request-id']).toBe(res.headers['kinto-request-id']);
      expect(seen.headers['kinto-request-id']).not.toBe('spoofed-id');
      expect(seen.headers).not.toHaveProperty('kinto-authorization');
      expect(JSON.stringify(seen)).not.toContain(token.split('.')[2]);
      expect(JSON.stringify(seen)).not.toContain(token.split('.')[1]);
    });

    it('accept the header in any case, with or without a "Bearer " prefix', async () => {
      const token = await tokenFor('dev');
      for (const name of ['kinto-authorization', 'KINTO-AUTHORIZATION', 'Kinto-Authorization', 'kInTo-AuThOrIzAtIoN']) {
        for (const value of [token, `Bearer ${token}`, `bearer ${token}`, `BEARER  ${token}`, `Bearer\t${token}`]) {
          const res = await call(`${env.dev.url}/api/x`, { [name]: value });
          expect({ name, value: value.slice(0, 8), status: res.status }).toEqual({ name, value: value.slice(0, 8), status: 200 });
        }
      }
    });

    it('refuse a token of another environment, even one already verified there', async () => {
      const prodToken = await tokenFor('prod');
      expect((await call(`${env.prod.url}/api/x`, { 'kinto-authorization': prodToken })).status).toBe(200);
      const before = hits('dev', 'api').length;
      const res = await call(`${env.dev.url}/api/x`, { 'kinto-authorization': prodToken });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('TOKEN_WRONG_ENVIRONMENT');
      expect(hits('dev', 'api').length).toBe(before);
    });

    describe('refuse forged and broken tokens', () => {
      const cases: [string, () => Promise<string>, string][] = [
        [
          'expired',
          () => forgeToken({ material, envId: env.dev.id, clientId: env.dev.clientId, nowSeconds: Math.floor(Date.now() / 1000) - 7200 }),
          'TOKEN_EXPIRED',
        ],
        [
          'issued in the future',
          () => forgeToken({ material, envId: env.dev.id, clientId: env.dev.clientId, nowSeconds: Math.floor(Date.now() / 1000) + 600 }),
          'TOKEN_NOT_YET_VALID',
        ],
        [
          'not before a future time',
          () =>
            forgeToken({ material, envId: env.dev.id, clientId: env.dev.clientId, claims: { nbf: Math.floor(Date.now() / 1000) + 600 } }),
          'TOKEN_NOT_YET_VALID',
        ],
        [
          'of another issuer',
          () => forgeToken({ material, envId: env.dev.id, clientId: env.dev.clientId, claims: { iss: 'someone-else' } }),
          'TOKEN_INVALID',
        ],
        [
          'signed with another key',
          () => forgeToken({ material, envId: env.dev.id, clientId: env.dev.clientId, rawKey: Buffer.alloc(32, 7) }),
          'TOKEN_INVALID',
        ],
        [
          'signed with HS512 and the right key bytes',
          () => forgeToken({ material, envId: env.dev.id, clientId: env.dev.clientId, alg: 'HS512', rawKey: tokenKeyBytes(material) }),
          'TOKEN_INVALID',
        ],
        [
          'signed with HS384 and the right key bytes',
          () => forgeToken({ material, envId: env.dev.id, clientId: env.dev.clientId, alg: 'HS384', rawKey: tokenKeyBytes(material) }),
          'TOKEN_INVALID',
        ],
        ['alg none', async () => unsignedToken(claimsOf(await tokenFor('dev'))), 'TOKEN_INVALID'],
        [
          'alg none with a signature',
          async () => {
            const t = await tokenFor('dev');
            return unsignedToken(claimsOf(t)) + t.split('.')[2];
          },
          'TOKEN_INVALID',
        ],
        [
          'a tampered payload',
          async () => {
            const [h, , s] = (await tokenFor('dev')).split('.');
            return `${h}.${Buffer.from(JSON.stringify({ ...claimsOf(await tokenFor('dev')), sub: 'a'.repeat(32) })).toString('base64url')}.${s}`;
          },
          'TOKEN_INVALID',
        ],
        [
          'without a client generation',
          () => forgeToken({ material, envId: env.dev.id, clientId: env.dev.clientId, claims: { gen: undefined } }),
          'TOKEN_INVALID',
        ],
        [
          'without an expiry',
          () => forgeToken({ material, envId: env.dev.id, clientId: env.dev.clientId, claims: { exp: undefined } }),
          'TOKEN_INVALID',
        ],
        [
          'living longer than a day',
          () =>
            forgeToken({
              material,
              envId: env.dev.id,
              clientId: env.dev.clientId,
              claims: { exp: Math.floor(Date.now() / 1000) + 3 * 86_400 },
            }),
          'TOKEN_INVALID',
        ],
        [
          'for an audience list',
          () => forgeToken({ material, envId: env.dev.id, clientId: env.dev.clientId, claims: { aud: [env.dev.id, env.prod.id] } }),
          'TOKEN_INVALID',
        ],
        ['of an unknown client', () => forgeToken({ material, envId: env.dev.id, clientId: 'b'.repeat(32) }), 'TOKEN_REVOKED'],
        [
          'of an older client generation',
          () => forgeToken({ material, envId: env.dev.id, clientId: env.dev.clientId, generation: 0 }),
          'TOKEN_INVALID',
        ],
        [
          'of a newer client generation',
          () => forgeToken({ material, envId: env.dev.id, clientId: env.dev.clientId, generation: 2 }),
          'TOKEN_REVOKED',
        ],
        ['two tokens in one header', async () => `${await tokenFor('dev')}, ${await tokenFor('dev')}`, 'TOKEN_MALFORMED'],
        ['only "Bearer"', async () => 'Bearer ', 'TOKEN_MISSING'],
      ];
      it.each(cases)('%s', async (_what, make, code) => {
        const before = hits('dev', 'api').length;
        const res = await call(`${env.dev.url}/api/x`, { 'kinto-authorization': await make() });
        expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status: 401, code });
        expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="kinto"/);
        expect(hits('dev', 'api').length).toBe(before);
      });
    });

    it('property: any header value that is not a valid token (huge, binary, random) never reaches the block', async () => {
      const before = hits('dev', 'api').length;
      const token = await tokenFor('dev');
      const headerChar = fc
        .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }), fc.constant(0x09))
        .map((c) => String.fromCharCode(c));
      const value = fc.oneof(
        fc.string({ unit: headerChar, maxLength: 200 }),
        fc.string({ unit: headerChar, minLength: 4000, maxLength: 12_000 }),
        // A valid token, damaged: one character changed somewhere.
        fc
          .tuple(fc.nat(token.length - 1), fc.constantFrom('A', '_', '-', '.', ' ', '\xff'))
          .map(([i, c]) => token.slice(0, i) + c + token.slice(i + 1))
          .filter((t) => t.trim() !== token && !sameTokenBytes(t, token)),
        fc.tuple(fc.constantFrom('Token ', 'Basic ', 'Bearer: ', 'JWT ', 'Bearer Bearer '), fc.constant(token)).map(([p, t]) => p + t),
      );
      await fc.assert(
        fc.asyncProperty(value, async (v) => {
          const res = await call(`${env.dev.url}/api/x`, { 'Kinto-Authorization': v });
          // 401 from the guard; 431 if the whole header block is over Node's limit (never reaches the guard either).
          return res.status === 401 || res.status === 431;
        }),
        { numRuns: 120 },
      );
      expect(hits('dev', 'api').length).toBe(before);
    });

    it('property: the header name in any case and any Bearer prefix spelling still work', async () => {
      const token = await tokenFor('dev');
      const casing = fc
        .array(fc.boolean(), { minLength: 19, maxLength: 19 })
        .map((flags) => [...'kinto-authorization'].map((c, i) => (flags[i] ? c.toUpperCase() : c)).join(''));
      const prefix = fc.oneof(
        fc.constant(''),
        fc
          .tuple(fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }), fc.constantFrom(' ', '  ', '\t', ' \t'))
          .map(([f, ws]) => [...'bearer'].map((c, i) => (f[i] ? c.toUpperCase() : c)).join('') + ws),
      );
      await fc.assert(
        fc.asyncProperty(casing, prefix, async (name, p) => (await call(`${env.dev.url}/api/p`, { [name]: p + token })).status === 200),
        { numRuns: 60 },
      );
    });
  });

  describe('Function: rotation and revocation', () => {
    it('rotating a secret refuses the old secret and every earlier token at once, even cached ones', async () => {
      const client = (await kinto.api('POST', '/v1/projects/sec/environments/dev/clients', { name: 'rotating' })).body.data;
      const old = await tokenFor('dev', client.clientId, client.secret);
      expect((await call(`${env.dev.url}/api/x`, { 'kinto-authorization': old })).status).toBe(200);
      const rotated = await kinto.api('POST', `/v1/projects/sec/environments/dev/clients/${client.clientId}/rotate`);
      expect(rotated.status).toBe(200);
      expect(rotated.body.data).toMatchObject({ clientId: client.clientId, secret: expect.any(String), rotatedAt: expect.any(String) });
      expect(rotated.body.data.secret).not.toBe(client.secret);
      const refused = await call(`${env.dev.url}/api/x`, { 'kinto-authorization': old });
      expect(refused.status).toBe(401);
      expect(refused.body.error.code).toBe('TOKEN_REVOKED');
      expect((await authorize('dev', { clientId: client.clientId, secret: client.secret })).status).toBe(401);
      const fresh = await tokenFor('dev', client.clientId, rotated.body.data.secret);
      expect(claimsOf(fresh).gen).toBe(2);
      expect((await call(`${env.dev.url}/api/x`, { 'kinto-authorization': fresh })).status).toBe(200);
    });

    it('revoking a client refuses its secret and its tokens at once', async () => {
      const { clientId, secret, token } = await clientToken(kinto, 'sec', 'dev');
      expect((await call(`${env.dev.url}/api/x`, { 'kinto-authorization': token })).status).toBe(200);
      expect((await kinto.api('DELETE', `/v1/projects/sec/environments/dev/clients/${clientId}`)).status).toBe(204);
      const refused = await call(`${env.dev.url}/api/x`, { 'kinto-authorization': token });
      expect({ status: refused.status, code: refused.body.error.code }).toEqual({ status: 401, code: 'TOKEN_REVOKED' });
      expect((await authorize('dev', { clientId, secret })).status).toBe(401);
      expect((await kinto.api('GET', `/v1/projects/sec/environments/dev/clients/${clientId}`)).status).toBe(404);
    });

    it("concurrent rotations: one wins, the others are told to retry (409), and only the winner's secret works", async () => {
      const client = (await kinto.api('POST', '/v1/projects/sec/environments/prod/clients', { name: 'race' })).body.data;
      const results = await Promise.all(
        Array.from({ length: 6 }, () => kinto.api('POST', `/v1/projects/sec/environments/prod/clients/${client.clientId}/rotate`)),
      );
      const won = results.filter((r) => r.status === 200);
      expect(won.length).toBeGreaterThanOrEqual(1);
      expect(results.every((r) => r.status === 200 || (r.status === 409 && r.body.error.code === 'CONCURRENT_UPDATE'))).toBe(true);
      const stored = await kinto.ctx.store.clients.get({ envId: env.prod.id, clientId: client.clientId });
      expect(stored!.generation).toBe(1 + won.length);
      // Each win was a conditional write on the revision it read: only the last secret works.
      const works = [];
      for (const r of won) works.push(await authorize('prod', { clientId: client.clientId, secret: r.body.data.secret }));
      expect(works.filter((r) => r.status === 200)).toHaveLength(1);
    });
  });

  describe('Function: visibility', () => {
    it('public blocks are always reached, with or without a token (garbage included)', async () => {
      const variants: Record<string, string>[] = [
        {},
        { 'kinto-authorization': 'garbage' },
        { 'kinto-authorization': await tokenFor('dev') },
      ];
      for (const headers of variants) {
        const res = await call(`${env.dev.url}/hook/events`, headers);
        expect(res.status).toBe(200);
        expect(res.body.path).toBe('/events');
        expect(res.body.headers).not.toHaveProperty('kinto-authorization');
      }
    });

    it('internal blocks are never reached from outside, token or not', async () => {
      const before = hits('dev', 'vault').length;
      const variants: Record<string, string>[] = [{}, { 'kinto-authorization': await tokenFor('dev') }];
      for (const headers of variants) {
        const res = await call(`${env.dev.url}/vault/secrets`, headers);
        expect(res.status).toBe(404);
        expect(res.body.error.code).toBe('BLOCK_INTERNAL');
      }
      expect(hits('dev', 'vault').length).toBe(before);
    });

    it('blocks of the environment reach each other, internal ones included, through KINTO_BLOCK_<NAME>_URL', async () => {
      const res = await call(`${env.dev.url}/caller/call/vault`);
      expect(res.status).toBe(200);
      expect(res.body.status).toBe(200);
      const seen = JSON.parse(res.body.body);
      expect(seen.block).toBe('vault');
      // The internal key is cut from the path before the block sees it.
      expect(seen.path).toBe('/ping');
      expect(res.body.url).toMatch(new RegExp(`^${env.dev.url}/_internal/[A-Za-z0-9_-]{43}/vault$`));
      // Protected siblings too, without a token.
      const api = await call(`${env.dev.url}/caller/call/api`);
      expect(api.body.status).toBe(200);
      const urls = (await call(`${env.dev.url}/hook/x`)).body.urls;
      expect(Object.keys(urls).sort()).toEqual([
        'KINTO_BLOCK_API_URL',
        'KINTO_BLOCK_CALLER_URL',
        'KINTO_BLOCK_HOOK_URL',
        'KINTO_BLOCK_SITE_URL',
        'KINTO_BLOCK_VAULT_URL',
      ]);
    });

    it("an environment's internal entry opens nothing in another environment, and a wrong key opens nothing", async () => {
      const devUrl: string = (await call(`${env.dev.url}/hook/x`)).body.urls.KINTO_BLOCK_VAULT_URL;
      const key = /\/_internal\/([^/]+)\//.exec(devUrl)![1];
      const before = hits('prod', 'vault').length;
      expect((await call(`${env.prod.url}/_internal/${key}/vault/ping`)).status).toBe(404);
      // One character off (the last of a 32-byte key in base64url is 'A' one time in 16: never the same key).
      expect((await call(`${env.dev.url}/_internal/${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}/vault/ping`)).status).toBe(404);
      expect((await call(`${env.dev.url}/_internal/${'x'.repeat(5000)}/vault/ping`)).status).toBe(404);
      expect((await call(`${env.dev.url}/_internal/`)).status).toBe(404);
      expect(hits('prod', 'vault').length).toBe(before);
    });
  });

  describe('Function: password-protected websites', () => {
    const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

    it('ask for the password (401, WWW-Authenticate Basic) and serve the site with the right one', async () => {
      const none = await call(`${env.dev.url}/site/`);
      expect(none.status).toBe(401);
      expect(none.headers['www-authenticate']).toBe('Basic realm="site", charset="UTF-8"');
      expect(none.body.error.code).toBe('BASIC_AUTH_REQUIRED');
      for (const wrong of [
        basic('ann', 'wrong horse'),
        basic('bob', 'correct horse'),
        basic('ann', ''),
        'Basic !!!',
        `Bearer ${await tokenFor('dev')}`,
      ]) {
        expect((await call(`${env.dev.url}/site/`, { authorization: wrong })).status).toBe(401);
      }
      const ok = await call(`${env.dev.url}/site/`, { authorization: basic('ann', 'correct horse') });
      expect(ok.status).toBe(200);
      expect(ok.text).toContain('members only');
      expect((await call(`${env.dev.url}/site/`, { authorization: basic('ann', 'correct horse') })).status).toBe(200);
    });

    it('are open in environments without a password', async () => {
      expect((await call(`${env.prod.url}/site/`)).status).toBe(200);
    });

    it('a new password takes over with the next deployment; the old one stops working', async () => {
      expect(
        (
          await kinto.api('PUT', '/v1/projects/sec/environments/dev/blocks/site/config', {
            basicAuth: { username: 'ann', password: 'battery staple' },
          })
        ).status,
      ).toBe(200);
      expect((await kinto.deploy('sec', 'dev', { release: '1.0.0' })).status).toBe('succeeded');
      expect((await call(`${env.dev.url}/site/`, { authorization: basic('ann', 'correct horse') })).status).toBe(401);
      expect((await call(`${env.dev.url}/site/`, { authorization: basic('ann', 'battery staple') })).status).toBe(200);
    });
  });
});
