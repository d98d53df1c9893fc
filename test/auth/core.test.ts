import { mkdtempSync, readFileSync, rmSync, statSync, chmodSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreatePlatformKey, PLATFORM_KEY_FILE } from '../../lambdas/local/platform-key-file';
import { authorize, parseCredentials } from '../../lambdas/core/auth/authorize';
import { BasicAuthChecker, parseBasic } from '../../lambdas/core/auth/basic-auth';
import { clientSecretMatches, hashClientSecret } from '../../lambdas/core/auth/client-secrets';
import { createClient, listClients, revokeClient, rotateClientSecret } from '../../lambdas/core/auth/clients';
import { FailureLimiter } from '../../lambdas/core/auth/failure-limiter';
import { blockUrlVariable, internalEntryKeyMatches, internalEntryKeyOf } from '../../lambdas/core/auth/internal-entry';
import { importTokenKey } from '../../lambdas/core/auth/platform-keys';
import { TokenVerifier, type ClientStatus } from '../../lambdas/core/auth/verify-token';
import type { CoreContext } from '../../lambdas/core/context';
import { createEnvironment, deleteEnvironment } from '../../lambdas/core/environments';
import { createProject } from '../../lambdas/core/projects';
import { hashPassword } from '../../lambdas/core/passwords';
import { startTestCore, type TestCore } from '../support/core-context';
import { claimsOf, forgeToken } from './forge';

const material = Buffer.from('k'.repeat(48));
const ENV = 'e'.repeat(32);
const CLIENT = 'c'.repeat(32);

describe('Class: TokenVerifier', () => {
  let now: number;
  let statuses: Map<string, ClientStatus>;
  let lookups: number;
  const make = async (options: { cacheMs?: number; maxEntries?: number } = {}) =>
    new TokenVerifier({
      key: await importTokenKey(material),
      issuer: 'kinto',
      now: () => now,
      clientStatus: async (envId, clientId) => {
        lookups++;
        return statuses.get(`${envId}/${clientId}`);
      },
      ...options,
    });
  const sign = (o: Partial<Parameters<typeof forgeToken>[0]> = {}) =>
    forgeToken({ material, envId: ENV, clientId: CLIENT, nowSeconds: Math.floor(now / 1000), ...o });

  beforeEach(() => {
    now = Date.UTC(2030, 0, 1);
    statuses = new Map([[`${ENV}/${CLIENT}`, { generation: 1 }]]);
    lookups = 0;
  });

  describe('Method: verify', () => {
    it('verifies once, then answers from memory synchronously until the token expires', async () => {
      const v = await make();
      const t = await sign();
      const first = await v.verify(t, ENV);
      expect(first).toEqual({
        ok: true,
        envId: ENV,
        clientId: CLIENT,
        tokenId: claimsOf(t).jti,
        expiresAt: (Math.floor(now / 1000) + 600) * 1000,
      });
      const again = v.verify(t, ENV);
      expect(again).not.toBeInstanceOf(Promise);
      expect(again).toBe(first);
      now += 599_000;
      expect(v.verify(t, ENV)).toBe(first);
      // From exp on, the cache is done; the full check allows 5 s of clock skew, no more.
      now += 6_000;
      expect(await v.verify(t, ENV)).toMatchObject({ ok: false, code: 'TOKEN_EXPIRED' });
      expect(lookups).toBe(1);
    });

    it('a cached token of environment A is refused on B without verifying again', async () => {
      const v = await make();
      const t = await sign();
      await v.verify(t, ENV);
      expect(v.verify(t, 'f'.repeat(32))).toMatchObject({ ok: false, code: 'TOKEN_WRONG_ENVIRONMENT' });
    });

    it('shares one client lookup between concurrent checks of many tokens', async () => {
      const v = await make();
      const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => sign({ claims: { jti: `${i}`.padStart(32, '0') } })));
      const results = await Promise.all(tokens.map(async (t) => v.verify(t, ENV)));
      expect(results.every((r) => r.ok)).toBe(true);
      expect(lookups).toBe(1);
    });

    it('with cacheMs, asks the store again after that long (the AWS in-Lambda bound)', async () => {
      const v = await make({ cacheMs: 30_000 });
      const t = await sign();
      await v.verify(t, ENV);
      statuses.delete(`${ENV}/${CLIENT}`);
      now += 29_999;
      expect(v.verify(t, ENV)).toMatchObject({ ok: true });
      now += 1;
      expect(await v.verify(t, ENV)).toMatchObject({ ok: false, code: 'TOKEN_REVOKED' });
    });

    it('keeps at most maxEntries tokens, dropping the oldest', async () => {
      const v = await make({ maxEntries: 3 });
      for (let i = 0; i < 5; i++) await v.verify(await sign({ claims: { jti: `${i}`.padStart(32, '0') } }), ENV);
      expect(v.size).toBe(3);
    });

    it('does not treat a broken key as a bad token: the error reaches the caller', async () => {
      const v = new TokenVerifier({ key: {} as never, issuer: 'kinto', clientStatus: async () => ({ generation: 1 }) });
      await expect(v.verify(await sign(), ENV)).rejects.toThrow();
    });
  });

  describe('Method: forgetClient', () => {
    it('makes every cached token of the client invalid at once; other clients keep theirs', async () => {
      const other = 'd'.repeat(32);
      statuses.set(`${ENV}/${other}`, { generation: 1 });
      const v = await make();
      const mine = await sign();
      const theirs = await sign({ clientId: other });
      await v.verify(mine, ENV);
      await v.verify(theirs, ENV);
      statuses.set(`${ENV}/${CLIENT}`, { generation: 2 });
      v.forgetClient(ENV, CLIENT);
      expect(await v.verify(mine, ENV)).toMatchObject({ ok: false, code: 'TOKEN_REVOKED' });
      expect(v.verify(theirs, ENV)).toMatchObject({ ok: true });
    });

    it('a check whose lookup was in flight during the change does not cache what it read', async () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const v = new TokenVerifier({
        key: await importTokenKey(material),
        issuer: 'kinto',
        now: () => now,
        clientStatus: async (envId, clientId) => {
          lookups++;
          const status = statuses.get(`${envId}/${clientId}`);
          await gate;
          return status;
        },
      });
      const t = await sign();
      const pending = v.verify(t, ENV);
      while (lookups === 0) await new Promise((r) => setImmediate(r));
      statuses.delete(`${ENV}/${CLIENT}`);
      v.forgetClient(ENV, CLIENT);
      release();
      expect(await pending).toMatchObject({ ok: true });
      expect(v.size).toBe(0);
      expect(await v.verify(t, ENV)).toMatchObject({ ok: false, code: 'TOKEN_REVOKED' });
    });
  });
});

describe('Class: FailureLimiter', () => {
  it('refuses after maxFailures in the window, says how long to wait, and forgets after the window', () => {
    let now = 0;
    const limiter = new FailureLimiter({ maxFailures: 3, windowMs: 60_000, now: () => now });
    for (let i = 0; i < 3; i++) {
      expect(limiter.retryAfterSeconds('a')).toBe(0);
      limiter.failed('a');
    }
    expect(limiter.retryAfterSeconds('a')).toBe(60);
    now = 45_500;
    expect(limiter.retryAfterSeconds('a')).toBe(15);
    expect(limiter.retryAfterSeconds('b')).toBe(0);
    now = 60_000;
    expect(limiter.retryAfterSeconds('a')).toBe(0);
  });

  it('a success clears the count; invented keys are bounded', () => {
    const limiter = new FailureLimiter({ maxFailures: 2, maxKeys: 10 });
    limiter.failed('a');
    limiter.succeeded('a');
    limiter.failed('a');
    expect(limiter.retryAfterSeconds('a')).toBe(0);
    for (let i = 0; i < 100; i++) limiter.failed(`k${i}`);
    expect((limiter as unknown as { windows: Map<string, unknown> }).windows.size).toBeLessThanOrEqual(10);
  });
});

describe('Class: BasicAuthChecker', () => {
  const header = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
  let config: { username: string; passwordHash: string };
  beforeAll(async () => {
    config = { username: 'ann', passwordHash: await hashPassword('correct horse') };
  });

  it('checks with scrypt once, then remembers success synchronously; failures are never remembered', async () => {
    const checker = new BasicAuthChecker();
    const first = checker.check(header('ann', 'correct horse'), config, 'env/site');
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toBe(true);
    expect(checker.check(header('ann', 'correct horse'), config, 'env/site')).toBe(true);
    expect(await checker.check(header('ann', 'wrong'), config, 'env/site')).toBe(false);
    expect(checker.check(header('ann', 'wrong'), config, 'env/site')).toBeInstanceOf(Promise);
    expect(await checker.check(header('bob', 'correct horse'), config, 'env/site')).toBe(false);
  });

  it('a new password hash (config change, redeploy) or another scope misses the remembered success', async () => {
    const checker = new BasicAuthChecker();
    await checker.check(header('ann', 'correct horse'), config, 'env/site');
    const changed = { username: 'ann', passwordHash: await hashPassword('battery staple') };
    expect(await checker.check(header('ann', 'correct horse'), changed, 'env/site')).toBe(false);
    expect(checker.check(header('ann', 'correct horse'), config, 'other/site')).toBeInstanceOf(Promise);
  });

  it('concurrent checks of one header share one scrypt run', async () => {
    const checker = new BasicAuthChecker();
    const runs = Array.from({ length: 5 }, () => checker.check(header('ann', 'correct horse'), config, 's'));
    expect(new Set(runs).size).toBe(1);
    expect(await runs[0]).toBe(true);
  });

  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['a bearer token', 'Bearer x'],
    ['"Basic" alone', 'Basic'],
    ['bad base64', 'Basic !!!'],
    ['no colon', `Basic ${Buffer.from('nocolon').toString('base64')}`],
    ['a huge header', `Basic ${'A'.repeat(2000)}`],
  ])('refuses %s without scrypt', (_what, value) => {
    expect(new BasicAuthChecker().check(value, config, 's')).toBe(false);
  });

  it('runs at most maxPending distinct scrypt checks at a time; remembered ones still pass', async () => {
    const checker = new BasicAuthChecker({ maxPending: 2 });
    await checker.check(header('ann', 'correct horse'), config, 's');
    const a = checker.check(header('ann', 'guess-1'), config, 's');
    const b = checker.check(header('ann', 'guess-2'), config, 's');
    expect(checker.check(header('ann', 'guess-3'), config, 's')).toEqual({ reason: 'busy', retryAfterSeconds: 1 });
    expect(checker.check(header('ann', 'correct horse'), config, 's')).toBe(true);
    expect([await a, await b]).toEqual([false, false]);
    const later = checker.check(header('ann', 'guess-3'), config, 's');
    expect(later).toBeInstanceOf(Promise);
    expect(await later).toBe(false);
  });

  it('parses passwords with colons', () => {
    expect(parseBasic(header('ann', 'a:b:c'))).toEqual({ username: 'ann', password: 'a:b:c' });
  });
});

describe('Function: client secrets and internal entry keys', () => {
  const key = Buffer.alloc(32, 3);

  it('hashes secrets with the platform key, bound to the client id', () => {
    const hash = hashClientSecret(key, CLIENT, 's3cret');
    expect(hash).toMatch(/^hmac-sha256\$[A-Za-z0-9_-]{43}$/);
    expect(clientSecretMatches(key, CLIENT, 's3cret', hash)).toBe(true);
    expect(clientSecretMatches(key, CLIENT, 's3cret ', hash)).toBe(false);
    expect(clientSecretMatches(key, 'd'.repeat(32), 's3cret', hash)).toBe(false);
    expect(clientSecretMatches(Buffer.alloc(32, 4), CLIENT, 's3cret', hash)).toBe(false);
    expect(clientSecretMatches(key, CLIENT, 's3cret', 'plain')).toBe(false);
    expect(clientSecretMatches(key, CLIENT, 'x'.repeat(300), hashClientSecret(key, CLIENT, 'x'.repeat(300)))).toBe(false);
  });

  it('gives each environment its own internal entry key', () => {
    const a = internalEntryKeyOf(key, 'a'.repeat(32));
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(internalEntryKeyMatches(key, 'a'.repeat(32), a)).toBe(true);
    expect(internalEntryKeyMatches(key, 'b'.repeat(32), a)).toBe(false);
    expect(internalEntryKeyMatches(key, 'a'.repeat(32), `${a.slice(0, -1)}é`)).toBe(false);
    expect(internalEntryKeyMatches(key, 'a'.repeat(32), '')).toBe(false);
  });

  it('names block URL variables', () => {
    expect(blockUrlVariable('users-api')).toBe('KINTO_BLOCK_USERS_API_URL');
  });

  it.each([
    [
      { clientId: 'a', secret: 'b' },
      { clientId: 'a', secret: 'b' },
    ],
    [
      { clientId: 'a', clientSecret: 'b' },
      { clientId: 'a', secret: 'b' },
    ],
  ])('reads credentials %p', (body, want) => expect(parseCredentials(body)).toEqual(want));
});

describe('Function: local platform key', () => {
  let home: string;
  beforeEach(() => (home = mkdtempSync(join(tmpdir(), 'kinto-key-'))));
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it('is generated once (256 bits, mode 0600) and read back on the next start', async () => {
    const first = await loadOrCreatePlatformKey(home).material();
    const file = join(home, PLATFORM_KEY_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64url')).toHaveLength(32);
    expect(Buffer.compare(await loadOrCreatePlatformKey(home).material(), first)).toBe(0);
  });

  it('tightens a loosened file mode and refuses a short key with how to fix it', () => {
    loadOrCreatePlatformKey(home);
    const file = join(home, PLATFORM_KEY_FILE);
    chmodSync(file, 0o644);
    loadOrCreatePlatformKey(home);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    writeFileSync(file, 'short\n');
    expect(() => loadOrCreatePlatformKey(home)).toThrow(/at least 32.*Delete it/);
  });
});

describe('Feature: clients in the core (dynalite store)', () => {
  let core: TestCore;
  let ctx: CoreContext;
  let forgotten: string[];
  const tokens = { issuer: 'kinto', lifetimeSeconds: 3600 };

  beforeAll(async () => {
    core = await startTestCore();
    forgotten = [];
    ctx = { ...core.ctx, keys: { material: async () => material }, onClientChange: (e, c) => void forgotten.push(`${e}/${c}`) };
    await createProject(ctx, { name: 'shop' });
  });
  afterAll(() => core.close());

  it('creating an environment issues its first client; the stored item holds only a hash', async () => {
    const env = await createEnvironment(ctx, 'shop', { name: 'dev' });
    expect(env.firstClient).toBeDefined();
    const { client, secret } = env.firstClient!;
    expect(client).toMatchObject({ envId: env.id, name: 'default', generation: 1 });
    const stored = await ctx.store.clients.get({ envId: env.id, clientId: client.clientId });
    expect(JSON.stringify(stored)).not.toContain(secret);
    expect((await authorize(ctx, env.id, { clientId: client.clientId, secret }, tokens)).token).toMatch(/^eyJ/);
  });

  it('a context without key material creates environments without clients (and says so for client routes)', async () => {
    const env = await createEnvironment(core.ctx, 'shop', { name: 'nokeys' });
    expect(env.firstClient).toBeUndefined();
    await expect(createClient(core.ctx, 'shop', 'nokeys')).rejects.toMatchObject({ status: 503, code: 'KEYS_NOT_CONFIGURED' });
  });

  it('cloning an environment copies config, never clients', async () => {
    const qa = await createEnvironment(ctx, 'shop', { name: 'qa', cloneFrom: 'dev' });
    expect((await listClients(ctx, 'shop', 'qa')).items.map((c) => c.clientId)).toEqual([qa.firstClient!.client.clientId]);
  });

  it('racing creations of one environment leave no orphan clients behind', async () => {
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => createEnvironment(ctx, 'shop', { name: 'race' })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    // Every client item belongs to an environment that exists.
    const envKeys = new Set((await core.scanKeys()).filter((k) => k.sk.startsWith('ENV#')).map((k) => k.sk));
    const projectId = (await ctx.store.projects.get({ name: 'shop' }))!.id;
    const existing = new Set<string>();
    for (const sk of envKeys) existing.add(`ENV#${(await ctx.store.environments.get({ projectId, name: sk.slice(4) }))!.id}`);
    const owners = new Set((await core.scanKeys()).filter((k) => k.sk.startsWith('CLIENT#')).map((k) => k.pk));
    expect([...owners].filter((pk) => !existing.has(pk))).toEqual([]);
    expect(owners.size).toBeGreaterThanOrEqual(3);
  });

  it('rotation and revocation tell the process at once, and authorize follows the store', async () => {
    const env = (await ctx.store.environments.get({ projectId: (await ctx.store.projects.get({ name: 'shop' }))!.id, name: 'dev' }))!;
    const issued = await createClient(ctx, 'shop', 'dev', { name: 'app' });
    const rotated = await rotateClientSecret(ctx, 'shop', 'dev', issued.client.clientId);
    expect(rotated.client.generation).toBe(2);
    expect(forgotten).toContain(`${env.id}/${issued.client.clientId}`);
    await expect(authorize(ctx, env.id, { clientId: issued.client.clientId, secret: issued.secret }, tokens)).rejects.toMatchObject({
      status: 401,
      code: 'INVALID_CREDENTIALS',
    });
    const token = (await authorize(ctx, env.id, { clientId: issued.client.clientId, secret: rotated.secret }, tokens)).token;
    expect(claimsOf(token)).toMatchObject({ gen: 2, sub: issued.client.clientId, aud: env.id });
    await revokeClient(ctx, 'shop', 'dev', issued.client.clientId);
    await expect(authorize(ctx, env.id, { clientId: issued.client.clientId, secret: rotated.secret }, tokens)).rejects.toMatchObject({
      status: 401,
    });
    await expect(revokeClient(ctx, 'shop', 'dev', issued.client.clientId)).rejects.toMatchObject({ status: 404, code: 'CLIENT_NOT_FOUND' });
  });

  it('deleting an environment removes its clients', async () => {
    const env = await createEnvironment(ctx, 'shop', { name: 'gone' });
    await deleteEnvironment(ctx, 'shop', 'gone', 'gone');
    expect((await core.scanKeys()).filter((k) => k.pk === `ENV#${env.id}`)).toEqual([]);
  });
});
