import { execFileSync } from 'node:child_process';
import { createGitRepo } from '../support/git-repo';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { waitFor } from '../support/wait';

/** A block that logs, per request, two JSON lines with its request id and some lines that are not. */
const LOGGING_SERVICE = `
const http = require('http');
console.log('booting on ' + process.env.PORT);
http.createServer((req, res) => {
  const id = req.headers['kinto-request-id'];
  console.log(JSON.stringify({ kinto_request_id: id, step: 'start', path: req.url }));
  console.log('plain line for ' + req.url);
  console.log('[1,2,3]');
  console.log(JSON.stringify({ message: 'no id here' }));
  console.error('stderr line for ' + req.url);
  const m = /^\\/status\\/(\\d+)/.exec(req.url);
  const status = m ? Number(m[1]) : 200;
  if (req.url === '/long') process.stdout.write('L' + 'é'.repeat(350 * 1024) + 'END\\n');
  if (req.url === '/orphan') console.log(JSON.stringify({ kinto_request_id: 'orphan-123', message: 'no such request' }));
  console.log(JSON.stringify({ kinto_request_id: id, step: 'end', status }));
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ id }));
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

describe('Logs and metrics on the local platform (end to end)', () => {
  let kinto: TestPlatform;
  let gw: string;
  let commit: string;
  const calls: { id: string; status: number; path: string }[] = [];
  const N = 24;
  const ENV = '/v1/projects/shop/environments/dev';

  beforeAll(async () => {
    kinto = await startTestPlatform();
    const repo = createGitRepo({ 'server.js': LOGGING_SERVICE });
    commit = execFileSync('git', ['-C', repo, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    await kinto.api('POST', '/v1/projects', { name: 'shop' });
    expect(
      (
        await kinto.api('POST', '/v1/projects/shop/blocks', {
          name: 'api',
          type: 'microservice',
          source: { repo },
          build: { startCommand: 'node server.js' },
        })
      ).status,
    ).toBe(201);
    await kinto.api('POST', '/v1/projects/shop/environments', { name: 'dev' });
    await kinto.api('PUT', `${ENV}/blocks/api/config`, { visibility: 'public' });
    await kinto.buildBlock('shop', 'api');
    expect((await kinto.api('POST', '/v1/projects/shop/releases', { version: '1.0.0' })).status).toBe(201);
    expect((await kinto.deploy('shop', 'dev', { release: '1.0.0' })).status).toBe('succeeded');
    gw = await kinto.gatewayUrl('shop', 'dev');
    for (let i = 0; i < N; i++) {
      const path = i % 6 === 5 ? '/status/404' : i === 10 ? '/status/503' : `/items/${i}`;
      const res = await fetch(`${gw}/api${path}`);
      calls.push({ id: res.headers.get('kinto-request-id')!, status: res.status, path });
      await res.arrayBuffer();
      // The index orders by time (ms), then by id: calls a millisecond apart keep their order.
      await new Promise((r) => setTimeout(r, 2));
    }
    // Answers can reach the test before the platform has read the block's last lines (stdout and stderr).
    const last = calls[N - 1];
    await waitFor(async () => {
      await kinto.logFeed!.flush();
      const { body } = await kinto.api('GET', `${ENV}/requests/${last.id}`);
      const logs = await kinto.api('GET', `${ENV}/blocks/api/logs?q=stderr%20line%20for&limit=1000`);
      return body.data?.consoleLines?.length === 2 && logs.body.data.length === N;
    }, 5000);
  });
  afterAll(() => kinto.stop());

  it('lists every request, newest first, with its code, block and version', async () => {
    const { status, body } = await kinto.api('GET', `${ENV}/requests`);
    expect(status).toBe(200);
    expect(body.data).toHaveLength(N);
    expect(body.nextCursor).toBeNull();
    expect(body.data.map((r: { requestId: string }) => r.requestId)).toEqual(calls.map((c) => c.id).reverse());
    for (const [i, r] of [...body.data].reverse().entries()) {
      expect(r).toMatchObject({
        status: calls[i].status,
        method: 'GET',
        path: `/api${calls[i].path}`,
        block: 'api',
        release: '1.0.0',
        commit,
      });
      expect(r.durationMs).toBeGreaterThanOrEqual(0);
    }
    expect(calls.filter((c) => c.status === 404)).toHaveLength(4);
    expect(calls.filter((c) => c.status === 503)).toHaveLength(1);
  });

  it("shows each request's own console lines, in order, and nothing else", async () => {
    for (const call of calls) {
      const { status, body } = await kinto.api('GET', `${ENV}/requests/${call.id}`);
      expect(status).toBe(200);
      expect(body.data.access).toMatchObject({ requestId: call.id, status: call.status });
      expect(body.data.consoleLines.map((l: { log: unknown }) => l.log)).toEqual([
        { kinto_request_id: call.id, step: 'start', path: call.path },
        { kinto_request_id: call.id, step: 'end', status: call.status },
      ]);
      expect(body.data.consoleLines[0]).toMatchObject({ block: 'api', release: '1.0.0', stream: 'stdout' });
    }
  });

  it('pages with limit, filters by status and block', async () => {
    const first = await kinto.api('GET', `${ENV}/requests?limit=10`);
    expect(first.body.data).toHaveLength(10);
    const second = await kinto.api('GET', `${ENV}/requests?limit=10&before=${first.body.nextCursor}`);
    expect(second.body.data[0].requestId).toBe(calls[N - 11].id);
    const notFound = await kinto.api('GET', `${ENV}/requests?status=4xx`);
    expect(notFound.body.data.map((r: { status: number }) => r.status)).toEqual([404, 404, 404, 404]);
    const errors = await kinto.api('GET', `${ENV}/requests?status=error&block=api`);
    expect(errors.body.data).toHaveLength(5);
  });

  it("keeps the block's other output as its instance log, searchable, with platform events", async () => {
    const all = await kinto.api('GET', `${ENV}/blocks/api/logs?limit=1000`);
    const texts: string[] = all.body.data.map((l: { text: string }) => l.text);
    expect(texts.filter((t) => t.startsWith('plain line for'))).toHaveLength(N);
    expect(texts.filter((t) => t === '[1,2,3]')).toHaveLength(N);
    expect(texts.filter((t) => t.startsWith('stderr line for'))).toHaveLength(N);
    expect(texts.some((t) => /^kinto: block started \(woke\) in \d+ ms$/.test(t))).toBe(true);
    expect(texts.some((t) => t.includes('kinto_request_id'))).toBe(false);
    const search = await kinto.api('GET', `${ENV}/blocks/api/logs?q=PLAIN%20LINE%20FOR%20/ITEMS/3`);
    expect(search.body.data.map((l: { text: string }) => l.text)).toEqual(['plain line for /items/3']);
    expect(search.body.followCursor).toEqual(expect.any(String));
  });

  it('keeps console lines naming an unknown request, for when it arrives', async () => {
    await (await fetch(`${gw}/api/orphan`)).arrayBuffer();
    let answer = await kinto.api('GET', `${ENV}/requests/orphan-123`);
    await waitFor(async () => {
      await kinto.logFeed!.flush();
      answer = await kinto.api('GET', `${ENV}/requests/orphan-123`);
      return answer.status === 200;
    }, 5000);
    const { status, body } = answer;
    expect(status).toBe(200);
    expect(body.data).toMatchObject({
      access: null,
      consoleLines: [{ log: { kinto_request_id: 'orphan-123', message: 'no such request' } }],
    });
  });

  it('reports per-minute metrics per block: requests, 4xx, 5xx, percentiles, wakes', async () => {
    const { status, body } = await kinto.api('GET', `${ENV}/metrics`);
    expect(status).toBe(200);
    const api = body.data.blocks.find((b: { block: string }) => b.block === 'api');
    expect(api.total).toMatchObject({ requests: expect.any(Number), errors4xx: 4, errors5xx: 1, coldStarts: 1 });
    expect(api.total.requests).toBeGreaterThanOrEqual(N);
    expect(api.total.p50Ms).toBeGreaterThan(0);
    expect(api.total.p99Ms).toBeGreaterThanOrEqual(api.total.p95Ms);
    expect(api.minutes.reduce((n: number, m: { requests: number }) => n + m.requests, 0)).toBe(api.total.requests);
  });

  it('follows the instance log in real time with server-sent events', async () => {
    const controller = new AbortController();
    const res = await fetch(`${kinto.url}${ENV}/blocks/api/logs?follow=true&limit=1&q=follow-me`, {
      headers: { authorization: `Bearer ${kinto.adminToken}` },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    await (await fetch(`${gw}/api/follow-me`)).arrayBuffer();
    await waitFor(async () => {
      const { value } = await reader.read();
      text += Buffer.from(value ?? []).toString();
      return text.includes('plain line for /follow-me');
    }, 5000);
    expect(text).toMatch(/id: \S+\nevent: line\ndata: \{"time":"[^"]+","stream":"stdout","text":"plain line for \/follow-me"/);
    controller.abort();
  });

  it.each([
    ['requests?limit=0', 'INVALID_QUERY', /limit/],
    ['requests?limit=abc', 'INVALID_QUERY', /limit/],
    ['requests?status=teapot', 'INVALID_QUERY', /status/],
    ['requests?before=not-a-cursor', 'INVALID_QUERY', /before/],
    ['requests?block=Not_A_Name', 'INVALID_NAME', /block name/],
    ['requests?colour=red', 'INVALID_QUERY', /Unknown query parameter "colour"/],
    ['blocks/api/logs?from=yesterday', 'INVALID_QUERY', /from/],
    ['blocks/api/logs?from=2025-02-01T00:00:00Z&to=2025-01-01T00:00:00Z', 'INVALID_QUERY', /swap/],
    ['blocks/api/logs?before=2025-01-01T00:00:00Z&after=2025-01-01T00:00:00Z', 'INVALID_QUERY', /not both/],
    ['metrics?from=2025-01-01T00:00:00Z&to=2025-01-03T00:00:00Z', 'INVALID_QUERY', /24 hours/],
    ['requests/has%20space', 'INVALID_REQUEST_ID', /request id/],
  ])('refuses %s with 400 and says how to fix it', async (path, code, message) => {
    const { status, body } = await kinto.api('GET', `${ENV}/${path}`);
    expect(status).toBe(400);
    expect(body.error).toEqual({ code, message: expect.stringMatching(message) });
  });

  it('answers 404 for an unknown environment, block or request, and 401 without the admin token', async () => {
    expect((await kinto.api('GET', '/v1/projects/shop/environments/nope/requests')).body.error.code).toBe('ENVIRONMENT_NOT_FOUND');
    expect((await kinto.api('GET', `${ENV}/blocks/nope/logs`)).body.error.code).toBe('BLOCK_NOT_FOUND');
    expect((await kinto.api('GET', `${ENV}/requests/0b1e2f3a-0000-4000-8000-000000000000`)).body.error.code).toBe('REQUEST_NOT_FOUND');
    expect((await kinto.api('GET', `${ENV}/requests`, undefined, { authorization: 'Bearer wrong' })).status).toBe(401);
    const follow = await fetch(`${kinto.url}${ENV}/blocks/api/logs?follow=true`);
    expect(follow.status).toBe(401);
  });

  it('cuts a line over 256 KB into pieces of at most 256 KB, none lost, none truncated', async () => {
    await (await fetch(`${gw}/api/long`)).arrayBuffer();
    // The block's answer can reach the test before the platform has read all 700 KB of its stdout.
    let pieces: { text: string; truncated?: boolean }[] = [];
    await waitFor(async () => {
      await kinto.logFeed!.flush();
      const lines = (await kinto.api('GET', `${ENV}/blocks/api/logs?q=${encodeURIComponent('é')}`)).body.data.reverse() as {
        text: string;
        truncated?: boolean;
      }[];
      pieces = lines.filter((l) => /é/.test(l.text));
      return pieces.some((p) => p.text.endsWith('END'));
    }, 5000);
    expect(pieces.length).toBe(3);
    for (const p of pieces) {
      expect(p.truncated).toBeUndefined();
      expect(Buffer.byteLength(p.text)).toBeLessThanOrEqual(256 * 1024);
    }
    expect(pieces.map((p) => p.text).join('')).toBe('L' + 'é'.repeat(350 * 1024) + 'END');
  });
});
