import { request } from 'node:http';
import { createGitRepo } from '../support/git-repo';
import { startTestPlatform, type TestPlatform } from '../support/platform';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

/** GET from a given local address: every 127.x.y.z reaches the platform on Linux's loopback. */
function get(url: string, from: string, authorization?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { localAddress: from, agent: false, headers: authorization ? { authorization } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
        resolve({ status: res.statusCode!, headers: res.headers, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const RIGHT = basic('ann', 'correct horse');

describe('Feature: password-protected websites under a flood of guesses (local gateway)', () => {
  let kinto: TestPlatform;
  let site: string;

  beforeAll(async () => {
    kinto = await startTestPlatform();
    const repo = createGitRepo({ 'site/index.html': '<h1>members only</h1>\n' });
    expect((await kinto.api('POST', '/v1/projects', { name: 'guard' })).status).toBe(201);
    expect(
      (
        await kinto.api('POST', '/v1/projects/guard/blocks', {
          name: 'site',
          type: 'website',
          kind: 'static',
          source: { repo, subfolder: 'site' },
        })
      ).status,
    ).toBe(201);
    expect((await kinto.api('POST', '/v1/projects/guard/environments', { name: 'dev' })).status).toBe(201);
    expect(
      (
        await kinto.api('PUT', '/v1/projects/guard/environments/dev/blocks/site/config', {
          basicAuth: { username: 'ann', password: 'correct horse' },
        })
      ).status,
    ).toBe(200);
    await kinto.buildBlock('guard', 'site');
    expect((await kinto.api('POST', '/v1/projects/guard/releases', { version: '1.0.0' })).status).toBe(201);
    expect((await kinto.deploy('guard', 'dev', { release: '1.0.0' })).status).toBe('succeeded');
    site = `${await kinto.gatewayUrl('guard', 'dev')}/site/`;
  }, 60_000);
  afterAll(() => kinto.stop());

  it('answers 429 with Retry-After to an address after 10 wrong passwords, the right one included, while other addresses still get in', async () => {
    for (let i = 0; i < 10; i++) expect((await get(site, '127.0.0.2', basic('ann', `guess-${i}`))).status).toBe(401);
    const throttled = await get(site, '127.0.0.2', basic('ann', 'guess-10'));
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(throttled.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(throttled.headers['www-authenticate']).toBeUndefined();
    expect(throttled.body.error).toEqual({
      code: 'TOO_MANY_ATTEMPTS',
      message: expect.stringMatching(/Too many wrong passwords .* retry in \d+ s/),
      requestId: expect.any(String),
    });
    expect((await get(site, '127.0.0.2', RIGHT)).status).toBe(429);
    expect((await get(site, '127.0.0.3', RIGHT)).status).toBe(200);
  });

  it('never answers the right password with a 401 while guesses from many addresses fill the password checks: 503 with Retry-After, then in', async () => {
    // 60 guesses from 6 addresses: under each address's limit, over the 16 checks run at once.
    const flood = Array.from({ length: 60 }, (_, i) => get(site, `127.0.1.${1 + (i % 6)}`, basic('ann', `flood-${i}`)));
    // The right password, spelt so that each is a new header to check (not a remembered one).
    const spellings = [
      RIGHT,
      RIGHT.replace('Basic', 'basic'),
      RIGHT.replace('Basic', 'BASIC'),
      RIGHT.replace('Basic ', 'Basic  '),
      `${RIGHT} `,
    ];
    const answers = await Promise.all(
      spellings.map(async (header) => {
        const seen: Reply[] = [await get(site, '127.0.1.9', header)];
        while (seen.at(-1)!.status === 503 && seen.length < 50) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          seen.push(await get(site, '127.0.1.9', header));
        }
        return seen;
      }),
    );
    for (const seen of answers) {
      expect(seen.map((r) => r.status).filter((s) => s !== 503)).toEqual([200]);
      for (const busy of seen.slice(0, -1)) {
        expect(busy.headers['retry-after']).toBe('1');
        expect(busy.body.error.code).toBe('BASIC_AUTH_BUSY');
      }
    }
    const statuses = (await Promise.all(flood)).map((r) => r.status);
    expect(statuses).toContain(503);
    expect(statuses.every((s) => s === 401 || s === 503)).toBe(true);
  });

  it('lets a browser that already signed in keep getting in while its own address floods wrong guesses', async () => {
    expect((await get(site, '127.0.2.1', RIGHT)).status).toBe(200);
    const flood = Array.from({ length: 40 }, (_, i) => get(site, '127.0.2.1', basic('ann', `again-${i}`)));
    const during = await Promise.all(Array.from({ length: 5 }, () => get(site, '127.0.2.1', RIGHT)));
    expect(during.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect((await Promise.all(flood)).map((r) => r.status)).toContain(429);
    expect((await get(site, '127.0.2.1', RIGHT)).status).toBe(200);
  });
});
