import fc from 'fast-check';
import { startTestPlatform, type TestPlatform } from '../support/platform';

/**
 * Property-based: whatever a caller sends, the API answers with the error contract and a 4xx
 * (never a 5xx), and what it stored stays consistent.
 */
describe('Control API under random input (fast-check)', () => {
  let kinto: TestPlatform;
  const NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

  beforeAll(async () => {
    kinto = await startTestPlatform();
    await kinto.api('POST', '/v1/projects', { name: 'fuzz' });
    await kinto.api('POST', '/v1/projects/fuzz/blocks', {
      name: 'api',
      type: 'microservice',
      source: { repo: '/tmp/none' },
      build: { startCommand: 'node s.js' },
    });
    await kinto.api('POST', '/v1/projects/fuzz/environments', { name: 'dev' });
  });
  afterAll(() => kinto.stop());

  const writeRoutes: [string, string][] = [
    ['POST', '/v1/projects'],
    ['PATCH', '/v1/projects/fuzz'],
    ['POST', '/v1/projects/fuzz/blocks'],
    ['PATCH', '/v1/projects/fuzz/blocks/api'],
    ['POST', '/v1/projects/fuzz/environments'],
    ['PUT', '/v1/projects/fuzz/environments/dev/blocks/api/config'],
    ['POST', '/v1/projects/fuzz/releases'],
    ['POST', '/v1/projects/fuzz/environments/dev/deployments'],
    ['POST', '/v1/projects/fuzz/environments/dev/promote'],
    ['DELETE', '/v1/projects/fuzz/environments/dev'],
  ];

  function expectContract(res: { status: number; body: any }): void {
    expect(res.status).toBeLessThan(500);
    if (res.status >= 400) {
      expect(typeof res.body?.error?.code).toBe('string');
      expect(typeof res.body?.error?.message).toBe('string');
      expect(JSON.stringify(res.body)).not.toMatch(/\n\s+at |node_modules/);
    }
  }

  const nameLike = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 10 }),
    fc.stringMatching(/^[a-z][a-z0-9-]{0,60}$/),
    fc.constantFrom('', ' ', 'Ω', '../etc', 'a'.repeat(33), '__proto__', 'constructor', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', '\u0000', 'DEV'),
  );

  it('random JSON bodies on every write route: 4xx with the error contract, never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...writeRoutes), fc.jsonValue({ maxDepth: 4 }), async ([method, path], body) => {
        expectContract(await kinto.api(method, path, JSON.stringify(body)));
      }),
      { numRuns: 150 },
    );
  });

  it('malformed JSON text: 400 MALFORMED_JSON (or a clean 4xx), never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...writeRoutes),
        fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 200 }),
        async ([method, path], text) => {
          expectContract(await kinto.api(method, path, text, { 'content-type': 'application/json' }));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('near-valid bodies with hostile names and wrong types', async () => {
    const block = fc.record(
      {
        name: nameLike,
        type: fc.oneof(fc.constantFrom('website', 'microservice', 'custom-service', 'job'), fc.anything()),
        kind: fc.oneof(fc.constantFrom('static', 'static-build', 'dynamic', 'cron', 'pre-deploy'), fc.integer()),
        schedule: fc.oneof(fc.constantFrom('* * * * *', '0 0 31 2 *', 'bad'), fc.string()),
        source: fc.record(
          {
            repo: fc.oneof(fc.constantFrom('/tmp/r', 'ext::sh -c x', '-x', 'https://h/r.git'), fc.string()),
            branch: fc.oneof(nameLike, fc.constantFrom('--upload-pack=x', 'main')),
            subfolder: fc.oneof(nameLike, fc.constant('../..')),
          },
          { requiredKeys: ['repo'] },
        ),
        build: fc.record(
          {
            startCommand: fc.oneof(fc.constantFrom('node s.js', 'a | b', 'x $(id)'), fc.string()),
            port: fc.oneof(fc.integer(), fc.double()),
            buildArgs: fc.dictionary(fc.string(), fc.string()),
          },
          { requiredKeys: [] },
        ),
        variables: fc.dictionary(fc.string(), fc.record({ default: fc.anything(), required: fc.anything() }, { requiredKeys: [] })),
      },
      { requiredKeys: ['name', 'type', 'source'] },
    );
    await fc.assert(
      fc.asyncProperty(block, async (body) => {
        const res = await kinto.api('POST', '/v1/projects/fuzz/blocks', body);
        expectContract(res);
        if (res.status === 201) await kinto.api('DELETE', `/v1/projects/fuzz/blocks/${res.body.data.name}`);
      }),
      { numRuns: 150 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.record({ name: nameLike, cloneFrom: fc.option(nameLike, { nil: undefined }) }, { requiredKeys: ['name'] }),
        async (body) => {
          expectContract(await kinto.api('POST', '/v1/projects/fuzz/environments', body));
        },
      ),
      { numRuns: 100 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            variables: fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer())),
            memoryMb: fc.oneof(fc.integer(), fc.string()),
            visibility: fc.string(),
            basicAuth: fc.anything(),
          },
          { requiredKeys: [] },
        ),
        async (body) => expectContract(await kinto.api('PUT', '/v1/projects/fuzz/environments/dev/blocks/api/config', body)),
      ),
      { numRuns: 100 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.record({ version: fc.oneof(fc.string(), fc.stringMatching(/^\d{1,8}\.\d{1,8}\.\d{1,8}$/)), notes: fc.anything() }),
        async (body) => {
          expectContract(await kinto.api('POST', '/v1/projects/fuzz/releases', body));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('hostile path segments and query strings', async () => {
    await fc.assert(
      fc.asyncProperty(nameLike, nameLike, fc.string({ maxLength: 60 }), async (a, b, q) => {
        const seg = (s: string) => encodeURIComponent(s) || 'x';
        for (const path of [
          `/v1/projects/${seg(a)}`,
          `/v1/projects/fuzz/blocks/${seg(b)}`,
          `/v1/projects/${seg(a)}/releases/${seg(b)}`,
          `/v1/projects/fuzz/environments/${seg(a)}/blocks/${seg(b)}/config`,
          `/v1/projects?limit=${seg(q)}&cursor=${seg(b)}`,
        ]) {
          expectContract(await kinto.api('GET', path));
        }
      }),
      { numRuns: 100 },
    );
  });

  it('leaves the state consistent: valid, unique names everywhere, every listed item readable', async () => {
    const projects = (await kinto.api('GET', '/v1/projects?limit=1000')).body.data as { name: string }[];
    expect(new Set(projects.map((p) => p.name)).size).toBe(projects.length);
    for (const p of projects) {
      expect(p.name).toMatch(NAME);
      expect((await kinto.api('GET', `/v1/projects/${p.name}`)).status).toBe(200);
      for (const kind of ['blocks', 'environments', 'releases']) {
        const items = (await kinto.api('GET', `/v1/projects/${p.name}/${kind}?limit=1000`)).body.data as {
          name?: string;
          version?: string;
        }[];
        const keys = items.map((i) => i.name ?? i.version);
        expect(new Set(keys).size).toBe(keys.length);
        for (const key of keys) expect((await kinto.api('GET', `/v1/projects/${p.name}/${kind}/${key}`)).status).toBe(200);
      }
    }
  });
});
