import { createGitRepo, NODE_SERVICE } from '../support/git-repo';
import { startTestPlatform, type TestPlatform } from '../support/platform';

const json = { 'content-type': 'application/json' };

describe('Control API over HTTP (the real local platform)', () => {
  let kinto: TestPlatform;
  let repo: string;

  beforeAll(async () => {
    kinto = await startTestPlatform();
    repo = createGitRepo({ 'server.js': NODE_SERVICE });
  });
  afterAll(() => kinto.stop());

  describe('Admin auth', () => {
    it.each([
      ['no header', {}],
      ['a wrong token', { authorization: 'Bearer nope-nope-nope-nope' }],
      ['another scheme', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }],
    ])('answers 401 JSON for %s, with WWW-Authenticate', async (_what, headers) => {
      const res = await fetch(`${kinto.url}/v1/projects`, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(((await res.json()) as any).error.code).toBe('UNAUTHORIZED');
    });

    it('serves the OpenAPI document without a token, covering the public contract', async () => {
      const res = await fetch(`${kinto.url}/v1/openapi.json`);
      expect(res.status).toBe(200);
      const doc: any = (await res.json()) as any;
      expect(doc.openapi).toBe('3.1.0');
      for (const path of [
        '/v1/projects',
        '/v1/projects/{project}',
        '/v1/projects/{project}/blocks',
        '/v1/projects/{project}/blocks/{block}',
        '/v1/projects/{project}/environments',
        '/v1/projects/{project}/environments/{env}',
        '/v1/projects/{project}/environments/{env}/blocks/{block}/config',
        '/v1/projects/{project}/releases',
        '/v1/projects/{project}/releases/{version}',
        '/v1/projects/{project}/environments/{env}/deployments',
        '/v1/projects/{project}/environments/{env}/deployments/{deployment}',
        '/v1/projects/{project}/environments/{env}/compare',
        '/v1/projects/{project}/environments/{env}/jobs',
        '/v1/projects/{project}/environments/{env}/blocks/{block}/runs',
        '/v1/projects/{project}/environments/{env}/blocks/{block}/runs/{run}/log',
      ]) {
        expect(doc.paths).toHaveProperty([path]);
      }
      expect(doc.paths['/v1/projects'].post.requestBody.content['application/json'].schema.properties.name).toBeDefined();
      // Answers are described too, so typed clients can be generated from the document.
      const deployment =
        doc.paths['/v1/projects/{project}/environments/{env}/deployments'].post.responses['202'].content['application/json'].schema;
      expect(deployment.properties.data.properties.steps.items.properties.status.enum).toEqual([
        'pending',
        'running',
        'succeeded',
        'failed',
        'skipped',
      ]);
      const list = doc.paths['/v1/projects'].get.responses['200'].content['application/json'].schema;
      expect(list.properties.data.type).toBe('array');
    });
  });

  describe('The workflow with curl-shaped requests', () => {
    it('creates a project, a block, environments, config, a release and a deployment', async () => {
      expect((await kinto.api('POST', '/v1/projects', { name: 'flow', description: 'the demo' })).status).toBe(201);
      expect((await kinto.api('GET', '/v1/projects/flow')).body.data).toMatchObject({ name: 'flow', description: 'the demo', rev: 1 });
      expect((await kinto.api('PATCH', '/v1/projects/flow', { description: 'changed' })).body.data).toMatchObject({
        description: 'changed',
        rev: 2,
      });

      const block = await kinto.api('POST', '/v1/projects/flow/blocks', {
        name: 'api',
        type: 'microservice',
        source: { repo, branch: 'main' },
        build: { startCommand: 'node server.js' },
        variables: { GREETING: { default: 'hello' } },
      });
      expect(block.status).toBe(201);
      expect(block.body.data).toMatchObject({ name: 'api', type: 'microservice', source: { repo, branch: 'main' } });
      expect((await kinto.api('GET', '/v1/projects/flow/blocks')).body.data.map((b: { name: string }) => b.name)).toEqual(['api']);

      expect((await kinto.api('POST', '/v1/projects/flow/environments', { name: 'dev' })).status).toBe(201);
      const config = await kinto.api('PUT', '/v1/projects/flow/environments/dev/blocks/api/config', {
        variables: { GREETING: 'hi dev' },
        memoryMb: 256,
      });
      expect(config.status).toBe(200);
      expect(config.headers.get('etag')).toBe('"1"');
      expect(config.body.data).toMatchObject({ variables: { GREETING: 'hi dev' }, memoryMb: 256, visibility: 'protected', rev: 1 });
      const cloned = await kinto.api('POST', '/v1/projects/flow/environments', { name: 'prod', cloneFrom: 'dev' });
      expect(cloned.body.data).toMatchObject({ name: 'prod', clonedFrom: 'dev', status: 'active' });
      expect((await kinto.api('GET', '/v1/projects/flow/environments/prod/blocks/api/config')).body.data.variables.GREETING).toBe('hi dev');

      await kinto.buildBlock('flow', 'api');
      const release = await kinto.api('POST', '/v1/projects/flow/releases', { version: '1.0.0', notes: 'first' });
      expect(release.status).toBe(201);
      expect(release.body.data.blocks[0]).toMatchObject({ name: 'api', commit: expect.stringMatching(/^[0-9a-f]{40}$/) });
      expect((await kinto.api('GET', '/v1/projects/flow/releases/1.0.0')).body.data.notes).toBe('first');

      const deployed = await kinto.deploy('flow', 'dev', { release: '1.0.0' });
      expect(deployed).toMatchObject({ release: '1.0.0', status: 'succeeded', action: 'deploy' });
      const history = await kinto.api('GET', '/v1/projects/flow/environments/dev/deployments');
      expect(history.body.data).toHaveLength(1);
      const env = (await kinto.api('GET', '/v1/projects/flow/environments/dev')).body.data;
      expect(env.running.release).toBe('1.0.0');
      expect(env.gatewayUrl).toBe(`${kinto.url}/gw/${env.id}`);
    });
  });

  describe('Bad input gets a clear answer', () => {
    beforeAll(async () => {
      await kinto.api('POST', '/v1/projects', { name: 'errs' });
    });

    it.each([
      ['an invalid name', 'POST', '/v1/projects', { name: 'Not Valid' }, 400, 'INVALID_NAME'],
      ['an over-long name', 'POST', '/v1/projects', { name: 'a'.repeat(33) }, 400, 'VALIDATION_FAILED'],
      ['a wrong type', 'POST', '/v1/projects', { name: 42 }, 400, 'VALIDATION_FAILED'],
      ['an unknown field', 'POST', '/v1/projects', { name: 'ok-name', colour: 'red' }, 400, 'VALIDATION_FAILED'],
      ['a JSON array', 'POST', '/v1/projects', [1, 2], 400, 'VALIDATION_FAILED'],
      ['an invalid version', 'POST', '/v1/projects/errs/releases', { version: '1.0' }, 400, 'INVALID_VERSION'],
      ['a duplicate', 'POST', '/v1/projects', { name: 'errs' }, 409, 'PROJECT_EXISTS'],
      ['an unknown project', 'GET', '/v1/projects/nope', undefined, 404, 'PROJECT_NOT_FOUND'],
      ['an unknown block', 'GET', '/v1/projects/errs/blocks/nope', undefined, 404, 'BLOCK_NOT_FOUND'],
      ['an unknown environment', 'GET', '/v1/projects/errs/environments/nope', undefined, 404, 'ENVIRONMENT_NOT_FOUND'],
      ['an unknown release', 'GET', '/v1/projects/errs/releases/9.9.9', undefined, 404, 'RELEASE_NOT_FOUND'],
      ['an unknown route', 'GET', '/v1/nothing-here', undefined, 404, 'ROUTE_NOT_FOUND'],
      ['a wrong method', 'PUT', '/v1/projects/errs', { description: 'x' }, 405, 'METHOD_NOT_ALLOWED'],
      ['a release without blocks', 'POST', '/v1/projects/errs/releases', { version: '1.0.0' }, 409, 'NO_BLOCKS'],
      ['an env delete without confirm', 'DELETE', '/v1/projects/errs/environments/nope', { confirm: 'x' }, 404, 'ENVIRONMENT_NOT_FOUND'],
      ['a body where none is taken', 'POST', '/v1/projects/errs/blocks/x/builds', { branch: 'dev' }, 400, 'UNEXPECTED_BODY'],
      ['a bad limit', 'GET', '/v1/projects?limit=0', undefined, 400, 'INVALID_QUERY'],
      [
        'a forged cursor',
        'GET',
        `/v1/projects?cursor=${Buffer.from(JSON.stringify({ pk: 'ENV#x', sk: 'CONFIG#y' })).toString('base64url')}`,
        undefined,
        400,
        'INVALID_CURSOR',
      ],
      [
        'a git transport that runs commands',
        'POST',
        '/v1/projects/errs/blocks',
        { name: 'b', type: 'microservice', source: { repo: 'ext::sh -c id' }, build: { startCommand: 'x' } },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'a shell pipeline as a command',
        'POST',
        '/v1/projects/errs/blocks',
        { name: 'b', type: 'microservice', source: { repo: '/r' }, build: { startCommand: 'node a.js | tee log' } },
        400,
        'VALIDATION_FAILED',
      ],
    ])('%s -> %s %s', async (_what, method, path, body, status, code) => {
      const res = await kinto.api(method, path, body);
      expect(res.status).toBe(status);
      expect(res.body.error.code).toBe(code);
      expect(typeof res.body.error.message).toBe('string');
      expect(res.body.error.message.length).toBeGreaterThan(10);
      expect(JSON.stringify(res.body)).not.toMatch(/\bat .+\.(ts|js):\d+/);
    });

    it('answers 400 for malformed JSON', async () => {
      const res = await kinto.api('POST', '/v1/projects', '{"name": ', json);
      expect([res.status, res.body.error.code]).toEqual([400, 'MALFORMED_JSON']);
    });

    it('answers 415 for a body that is not declared JSON', async () => {
      const res = await kinto.api('POST', '/v1/projects', 'name=x', { 'content-type': 'application/x-www-form-urlencoded' });
      expect([res.status, res.body.error.code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    });

    it('answers 413 for a body over 1 MB, and keeps serving', async () => {
      const big = JSON.stringify({ name: 'big', description: 'x'.repeat(1024 * 1024 + 10) });
      const res = await kinto.api('POST', '/v1/projects', big);
      expect([res.status, res.body.error.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
      expect((await kinto.api('GET', '/v1/projects/errs')).status).toBe(200);
    });

    it('answers 400 when deleting an environment without repeating its name', async () => {
      await kinto.api('POST', '/v1/projects/errs/environments', { name: 'keep' });
      const res = await kinto.api('DELETE', '/v1/projects/errs/environments/keep', { confirm: 'other' });
      expect([res.status, res.body.error.code]).toEqual([400, 'CONFIRMATION_MISMATCH']);
      const none = await kinto.api('DELETE', '/v1/projects/errs/environments/keep');
      expect(none.status).toBe(400);
      expect((await kinto.api('GET', '/v1/projects/errs/environments/keep')).status).toBe(200);
      expect((await kinto.api('DELETE', '/v1/projects/errs/environments/keep', { confirm: 'keep' })).status).toBe(204);
      expect((await kinto.api('GET', '/v1/projects/errs/environments/keep')).status).toBe(404);
    });
  });

  describe('Concurrency: nothing lost, nothing duplicated', () => {
    beforeAll(async () => {
      await kinto.api('POST', '/v1/projects', { name: 'race' });
      await kinto.api('POST', '/v1/projects/race/blocks', {
        name: 'api',
        type: 'microservice',
        source: { repo },
        build: { startCommand: 'node server.js' },
      });
      await kinto.api('POST', '/v1/projects/race/environments', { name: 'dev' });
      await kinto.buildBlock('race', 'api');
    });

    it('20 concurrent tags of one version: exactly one 201, the rest 409, one stored release', async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => kinto.api('POST', '/v1/projects/race/releases', { version: '3.0.0', notes: `try ${i}` })),
      );
      const statuses = results.map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 201)).toHaveLength(1);
      expect(statuses.filter((s) => s === 409)).toHaveLength(19);
      for (const r of results.filter((x) => x.status === 409)) expect(r.body.error.code).toBe('RELEASE_EXISTS');
      const list = await kinto.api('GET', '/v1/projects/race/releases');
      expect(list.body.data.filter((r: { version: string }) => r.version === '3.0.0')).toHaveLength(1);
    });

    it('concurrent config updates: each 200 is one revision, the others are told (409)', async () => {
      const results = await Promise.all(
        Array.from({ length: 15 }, (_, i) =>
          kinto.api('PUT', '/v1/projects/race/environments/dev/blocks/api/config', { variables: { N: String(i) } }),
        ),
      );
      const ok = results.filter((r) => r.status === 200);
      expect(ok.length + results.filter((r) => r.status === 409).length).toBe(15);
      const final = await kinto.api('GET', '/v1/projects/race/environments/dev/blocks/api/config');
      expect(final.body.data.rev).toBe(ok.length);
      expect(ok.map((r) => r.body.data.variables.N)).toContain(final.body.data.variables.N);
    });

    it('If-Match with a stale ETag gets 409; with the current one, 200', async () => {
      const current = await kinto.api('GET', '/v1/projects/race/environments/dev/blocks/api/config');
      const etag = current.headers.get('etag')!;
      expect(
        (await kinto.api('PUT', '/v1/projects/race/environments/dev/blocks/api/config', { memoryMb: 1024 }, { 'if-match': etag })).status,
      ).toBe(200);
      const stale = await kinto.api(
        'PUT',
        '/v1/projects/race/environments/dev/blocks/api/config',
        { memoryMb: 2048 },
        { 'if-match': etag },
      );
      expect([stale.status, stale.body.error.code]).toEqual([409, 'CONFIG_CHANGED']);
    });
  });

  describe('Listing', () => {
    it('pages with limit and nextCursor, in name order', async () => {
      for (const name of ['page-c', 'page-a', 'page-b']) await kinto.api('POST', '/v1/projects', { name });
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res: { body: { data: { name: string }[]; nextCursor: string | null } } = await kinto.api(
          'GET',
          `/v1/projects?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        );
        expect(res.body.data.length).toBeLessThanOrEqual(2);
        seen.push(...res.body.data.map((p) => p.name));
        cursor = res.body.nextCursor;
      } while (cursor);
      expect(seen.filter((n) => n.startsWith('page-'))).toEqual(['page-a', 'page-b', 'page-c']);
      expect(new Set(seen).size).toBe(seen.length);
    });
  });
});
