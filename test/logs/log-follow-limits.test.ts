import { get, type IncomingMessage } from 'node:http';
import { createGitRepo } from '../support/git-repo';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { waitFor } from '../support/wait';

/** `/spam?n=&size=` writes n numbered lines of about `size` bytes to stdout, then answers. */
const SPAMMER = `
const http = require('http');
http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname !== '/spam') return res.end('ok');
  const n = Number(url.searchParams.get('n'));
  const pad = 'x'.repeat(Number(url.searchParams.get('size')));
  let i = 0;
  const more = () => {
    while (i < n) {
      const ok = process.stdout.write('spam-' + String(i++).padStart(6, '0') + '-' + pad + '\\n');
      if (!ok) return process.stdout.once('drain', more);
    }
    res.end('done');
  };
  more();
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

interface SseEvent {
  id: string;
  text: string;
}

/** Complete events in an SSE text (a last one cut off mid-way is left out). */
function events(text: string): SseEvent[] {
  const out: SseEvent[] = [];
  const parts = text.split('\n\n');
  parts.pop();
  for (const part of parts) {
    const id = /^id: (.+)$/m.exec(part)?.[1];
    const data = /^data: (.+)$/m.exec(part)?.[1];
    if (id && data) out.push({ id, text: JSON.parse(data).text });
  }
  return out;
}

const numbers = (list: SseEvent[]) => list.map((e) => Number(e.text.slice(5, 11)));

describe('Log follow streams on the local platform: many followers, slow followers', () => {
  let kinto: TestPlatform;
  let gw: string;
  const ENV = '/v1/projects/logs/environments/dev';
  const auth = () => ({ authorization: `Bearer ${kinto.adminToken}` });

  beforeAll(async () => {
    kinto = await startTestPlatform();
    const repo = createGitRepo({ 'server.js': SPAMMER });
    expect((await kinto.api('POST', '/v1/projects', { name: 'logs' })).status).toBe(201);
    expect(
      (
        await kinto.api('POST', '/v1/projects/logs/blocks', {
          name: 'spammer',
          type: 'microservice',
          source: { repo },
          build: { startCommand: 'node server.js' },
        })
      ).status,
    ).toBe(201);
    expect((await kinto.api('POST', '/v1/projects/logs/environments', { name: 'dev' })).status).toBe(201);
    expect((await kinto.api('PUT', `${ENV}/blocks/spammer/config`, { visibility: 'public' })).status).toBe(200);
    await kinto.buildBlock('logs', 'spammer');
    expect((await kinto.api('POST', '/v1/projects/logs/releases', { version: '1.0.0' })).status).toBe(201);
    expect((await kinto.deploy('logs', 'dev', { release: '1.0.0' })).status).toBe('succeeded');
    gw = await kinto.gatewayUrl('logs', 'dev');
  }, 60_000);
  afterAll(() => kinto.stop());

  it('answers 429 JSON past 32 open follow streams, and the control API keeps answering while 70 are asked for', async () => {
    const controllers = Array.from({ length: 70 }, () => new AbortController());
    const settled: (Response | Error)[] = [];
    const opening = controllers.map((c) =>
      fetch(`${kinto.url}${ENV}/blocks/spammer/logs?follow=true&limit=1`, { headers: auth(), signal: c.signal }).then(
        (r) => void settled.push(r),
        (e) => void settled.push(e),
      ),
    );
    try {
      // Today's streams each hold one of the 64 connections to the control plane: wait until they are open.
      await waitFor(() => settled.length >= 64, 10_000).catch(() => undefined);
      const api = await fetch(`${kinto.url}/v1/projects`, { headers: auth(), signal: AbortSignal.timeout(5000) }).then(
        (r) => r.status,
        (e) => `no answer: ${e.name}`,
      );
      expect(api).toBe(200);
      await Promise.race([Promise.all(opening), new Promise((resolve) => setTimeout(resolve, 5000))]);
      const responses = settled.filter((r): r is Response => r instanceof Response);
      expect(responses).toHaveLength(70);
      const open = responses.filter((r) => r.status === 200);
      const refused = responses.filter((r) => r.status === 429);
      expect(open).toHaveLength(32);
      expect(refused).toHaveLength(38);
      expect(refused[0].headers.get('retry-after')).toMatch(/^\d+$/);
      expect(refused[0].headers.get('content-type')).toMatch(/^application\/json/);
      expect(((await refused[0].json()) as any).error).toEqual({
        code: 'TOO_MANY_LOG_STREAMS',
        message: expect.stringMatching(/32 log streams .* poll GET .*logs\?after=/),
      });
    } finally {
      for (const c of controllers) c.abort();
    }
    // Closed streams free their places.
    await waitFor(async () => {
      const c = new AbortController();
      const res = await fetch(`${kinto.url}${ENV}/blocks/spammer/logs?follow=true&limit=1`, { headers: auth(), signal: c.signal });
      c.abort();
      return res.status === 200;
    }, 5000);
  }, 40_000);

  it('disconnects a follower that stops reading once 1 MiB of new lines wait for it; it resumes from Last-Event-ID without losing a line', async () => {
    const N = 600;
    const SIZE = 64 * 1024;
    // A follower that reads the first lines, then nothing more.
    const follower = await new Promise<IncomingMessage>((resolve, reject) =>
      get(`${kinto.url}${ENV}/blocks/spammer/logs?follow=true&q=spam-`, { headers: auth(), agent: false }, resolve).on('error', reject),
    );
    expect(follower.statusCode).toBe(200);
    let text = '';
    follower.setEncoding('utf8');
    follower.on('data', (c: string) => (text += c));
    follower.on('error', () => undefined);
    const closed = new Promise<boolean>((resolve) => follower.once('close', () => resolve(true)));
    expect(await (await fetch(`${gw}/spammer/spam?n=3&size=10`)).text()).toBe('done');
    await waitFor(() => events(text).length === 3, 5000);
    follower.pause();

    expect(await (await fetch(`${gw}/spammer/spam?n=${N}&size=${SIZE}`)).text()).toBe('done');
    await kinto.logFeed!.flush();
    await new Promise((resolve) => setTimeout(resolve, 2000));

    // Reading again: what was already on its way arrives, then the end (today the stream stays open).
    follower.resume();
    expect(await Promise.race([closed, new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 10_000))])).toBe(true);
    const first = events(text);
    expect(first.length).toBeLessThan(N + 3);
    expect(numbers(first)).toEqual([0, 1, 2, ...Array.from({ length: first.length - 3 }, (_, i) => i)]);

    // The EventSource way back: Last-Event-ID, and every line after it comes, in order.
    const controller = new AbortController();
    const res = await fetch(`${kinto.url}${ENV}/blocks/spammer/logs?follow=true&q=spam-`, {
      headers: { ...auth(), 'last-event-id': first.at(-1)!.id },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    const resumed: number[] = [];
    let pending = '';
    await waitFor(
      async () => {
        const { value } = await reader.read();
        pending += decoder.decode(value, { stream: true });
        const end = pending.lastIndexOf('\n\n');
        if (end >= 0) {
          resumed.push(...numbers(events(pending.slice(0, end + 2))));
          pending = pending.slice(end + 2);
        }
        return resumed.at(-1) === N - 1;
      },
      20_000,
      0,
    );
    controller.abort();
    const resumedFrom = first.length - 3;
    expect(resumed).toEqual(Array.from({ length: N - resumedFrom }, (_, i) => resumedFrom + i));
  }, 60_000);
});
