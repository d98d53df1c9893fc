import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { getJson, instanceLinesWhen } from '../support/block-answers';
import { createGitRepo } from '../support/git-repo';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { descendantPids, hostPids } from '../support/processes';
import { POSTGRES_CLIENT_SERVICE, POSTGRES_START_SCRIPT, postgresBin } from '../support/postgres-fixture';
import { waitFor } from '../support/wait';

const P = '/v1/projects/todo';

/**
 * A real database as a custom service (issue 21): PostgreSQL from Debian, made in KINTO_DATA_DIR on
 * its first start, behind a microservice that reads and writes through it, as KintoHub's Todo
 * example (a website, an API and a database).
 */
describe('Custom services: PostgreSQL keeps its rows and sleeps when idle', () => {
  let kinto: TestPlatform;
  const gw: Record<string, string> = {};
  const envIds: Record<string, string> = {};
  const call = (env: string, path: string): Promise<any> => getJson(`${gw[env]}/api${path}`);
  const postgresPids = (env: string) => descendantPids(hostPids({ KINTO_BLOCK: 'db', KINTO_GATEWAY_URL: gw[env] }, 'bwrap'), 'postgres');
  /** The db service's instance log (newest first), read until `ready` holds. */
  const dbLinesWhen = (env: string, ready: (lines: string[]) => boolean) =>
    instanceLinesWhen(kinto, { project: 'todo', env, block: 'db' }, ready, 10_000);

  beforeAll(async () => {
    kinto = await startTestPlatform();
    if (kinto.sandbox.mode !== 'bwrap')
      throw new Error(`these tests need bubblewrap (apt-get install bubblewrap): ${kinto.sandbox.warning}`);
    const variables = { PG_BIN: { default: postgresBin() }, DB_PASSWORD: { required: true } };
    const repo = createGitRepo({ 'api.js': POSTGRES_CLIENT_SERVICE, 'start-db.sh': POSTGRES_START_SCRIPT });
    await kinto.api('POST', '/v1/projects', { name: 'todo' });
    for (const block of [
      { name: 'api', type: 'microservice', source: { repo }, build: { startCommand: 'node api.js' }, variables },
      { name: 'db', type: 'custom-service', source: { repo }, build: { startCommand: 'sh start-db.sh' }, variables },
    ])
      expect((await kinto.api('POST', `${P}/blocks`, block)).body).toMatchObject({ data: { name: block.name } });
    for (const env of ['dev', 'qa']) {
      envIds[env] = (await kinto.api('POST', `${P}/environments`, { name: env })).body.data.id;
      // One secret per environment, given to the database (its password) and to the API that uses it.
      const password = { DB_PASSWORD: { secret: `pw-${env}-${Math.random().toString(36).slice(2)}` } };
      const api = await kinto.api('PUT', `${P}/environments/${env}/blocks/api/config`, { visibility: 'public', variables: password });
      const db = await kinto.api('PUT', `${P}/environments/${env}/blocks/db/config`, { idleTimeoutSeconds: 1, variables: password });
      expect([api.status, db.status]).toEqual([200, 200]);
    }
    await Promise.all(['api', 'db'].map((b) => kinto.buildBlock('todo', b)));
    for (const env of ['dev', 'qa']) {
      const d = await kinto.deploy('todo', env, env === 'dev' ? { tag: { version: '1.0.0' } } : { release: '1.0.0' });
      expect(d.status).toBe('succeeded');
      gw[env] = await kinto.gatewayUrl('todo', env);
    }
  }, 90_000);
  afterAll(() => kinto?.stop());

  it('is made on its first connection, in its own data folder, and keeps what the API writes', async () => {
    expect(await call('dev', '/put?k=todo&v=buy%20milk')).toEqual({ ok: true });
    expect(await call('dev', '/get?k=todo')).toEqual({ value: 'buy milk' });
    expect(existsSync(join(kinto.home, 'data', envIds.dev, 'db', 'pgdata', 'PG_VERSION'))).toBe(true);
    expect(existsSync(join(kinto.home, 'data', envIds.dev, 'db', 'pgdata.new'))).toBe(false);
  }, 30_000);

  it('refuses a connection with any other password (scram-sha-256, the secret variable DB_PASSWORD)', async () => {
    const res = await fetch(`${gw.dev}/api/get-as?password=guess`);
    expect(res.status).toBe(500);
    expect(((await res.json()) as { error: string }).error).toContain('password authentication failed for user "app"');
  }, 30_000);

  it('shuts down cleanly after its idle time (SIGTERM), and has the row again when woken', async () => {
    await waitFor(() => postgresPids('dev').length === 0, 15_000, 50, 'the idle database to stop');
    // PostgreSQL's "smart" shutdown on SIGTERM: a clean checkpoint, no recovery at the next start.
    await dbLinesWhen('dev', (ls) => ls.some((l) => l.includes('database system is shut down')));
    expect(await call('dev', '/get?k=todo')).toEqual({ value: 'buy milk' });
    const lines = await dbLinesWhen('dev', (ls) => ls.filter((l) => l.includes('ready to accept connections')).length >= 2);
    expect(lines.some((l) => l.includes('automatic recovery in progress'))).toBe(false);
  }, 40_000);

  it('gives each environment its own database', async () => {
    expect(await call('qa', '/get?k=todo')).toEqual({ value: null });
    expect(await call('qa', '/put?k=todo&v=qa%20only')).toEqual({ ok: true });
    expect(await call('dev', '/get?k=todo')).toEqual({ value: 'buy milk' });
    expect(existsSync(join(kinto.home, 'data', envIds.qa, 'db', 'pgdata', 'PG_VERSION'))).toBe(true);
  }, 30_000);
});
