import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { createControlServer } from '../../lambdas/local/servers/control-server';
import { readBody } from '../../lambdas/local/servers/read-body';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { waitFor } from '../support/wait';

/** Opens a raw connection and sends `head`; `answer` waits for a whole answer (or the server closing, or `waitMs`). */
function rawRequest(
  url: string,
  head: string,
): { socket: Socket; answer: (waitMs: number) => Promise<{ text: string; closed: boolean; ms: number }> } {
  const { hostname, port } = new URL(url);
  const started = Date.now();
  const socket = connect(Number(port), hostname);
  socket.on('error', () => undefined);
  let text = '';
  let closed = false;
  let done = (): void => undefined;
  const whole = (): boolean => {
    const end = text.indexOf('\r\n\r\n');
    const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end));
    return end >= 0 && !!length && text.length >= end + 4 + Number(length[1]);
  };
  socket.on('data', (c) => {
    text += c.toString('latin1');
    if (whole()) done();
  });
  socket.once('close', () => ((closed = true), done()));
  socket.write(head);
  return {
    socket,
    answer: async (waitMs) => {
      if (!closed && !whole()) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => ((done = resolve), (timer = setTimeout(resolve, waitMs))));
        clearTimeout(timer);
      }
      return { text, closed, ms: Date.now() - started };
    },
  };
}

/** Status and parsed JSON body of a raw HTTP/1.1 answer (content-length framed). */
function parseAnswer(text: string): { status: number; headers: string; body: any } {
  const [head = '', ...rest] = text.split('\r\n\r\n');
  return {
    status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]),
    headers: head.toLowerCase(),
    body: rest.length ? JSON.parse(rest.join('\r\n\r\n')) : undefined,
  };
}

describe('Control API request bodies (the real platform, real sockets)', () => {
  let kinto: TestPlatform;

  beforeAll(async () => {
    kinto = await startTestPlatform();
  });
  afterAll(() => kinto.stop());

  describe('Feature: the admin token is checked before the body is read', () => {
    it('answers 401 to a wrong token as soon as the headers arrive, without waiting for the body', async () => {
      const { socket, answer } = rawRequest(
        kinto.url,
        `POST /v1/projects HTTP/1.1\r\nhost: x\r\nauthorization: Bearer wrong-token\r\ncontent-type: application/json\r\ncontent-length: 1000000\r\n\r\n`,
      );
      const got = await answer(3000);
      socket.destroy();
      const res = parseAnswer(got.text);
      expect(res.status).toBe(401);
      expect(res.headers).toMatch(/www-authenticate: bearer/);
      expect(res.body.error).toEqual({ code: 'UNAUTHORIZED', message: expect.stringMatching(/admin token/) });
      expect(got.ms).toBeLessThan(2000);
    });

    it('answers 401 to 20 bodies of 2 MB without a token every time (the answer is read while the body still comes)', async () => {
      const body = Buffer.alloc(2 * 1024 * 1024, 'x');
      const outcomes: (number | string)[] = [];
      for (let i = 0; i < 20; i++) {
        outcomes.push(
          await fetch(`${kinto.url}/v1/projects`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then(
            (r) => r.status,
            (e) => String(e.cause?.code ?? e),
          ),
        );
      }
      expect(outcomes).toEqual(Array(20).fill(401));
    });

    it('still serves the routes that need no token, and takes a body with the right one', async () => {
      expect((await fetch(`${kinto.url}/v1/openapi.json`)).status).toBe(200);
      expect((await kinto.api('POST', '/v1/projects', { name: 'bodies' })).status).toBe(201);
    });
  });

  describe('Feature: a body over the 1 MB limit', () => {
    const post = (body: RequestInit['body'] | (() => RequestInit['body'])) =>
      fetch(`${kinto.url}/v1/projects`, {
        method: 'POST',
        headers: { authorization: `Bearer ${kinto.adminToken}`, 'content-type': 'application/json' },
        body: typeof body === 'function' ? body() : body,
        duplex: 'half',
      }).then(
        async (r) => (((await r.json()) as any).error.code === 'PAYLOAD_TOO_LARGE' ? r.status : `${r.status}?`),
        (e) => String(e.cause?.code ?? e),
      );
    /** A body without a length, in 64 KB chunks: the limit is passed while it is being read. */
    const chunked = (bytes: number) => () => {
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let sent = 0;
      return new ReadableStream({
        pull(controller) {
          if (sent >= bytes) return controller.close();
          sent += chunk.length;
          controller.enqueue(chunk);
        },
      });
    };

    it.each([
      ['2 MB', Buffer.alloc(2 * 1024 * 1024, 'x')],
      ['4 MB', Buffer.alloc(4 * 1024 * 1024, 'x')],
      ['4 MB in chunks without a length', chunked(4 * 1024 * 1024)],
    ])("answers 413 JSON to every one of 20 bodies of %s sent with Node's fetch (never EPIPE)", async (_what, body) => {
      const outcomes: (number | string)[] = [];
      for (let i = 0; i < 20; i++) outcomes.push(await post(body));
      expect(outcomes).toEqual(Array(20).fill(413));
    });
  });

  describe('Feature: slow bodies time out', () => {
    it('answers 408 JSON and closes the connection after 10 s without a byte of the body', async () => {
      const { socket, answer } = rawRequest(
        kinto.url,
        `POST /v1/projects HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${kinto.adminToken}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"name":`,
      );
      const got = await answer(14_000);
      const res = parseAnswer(got.text);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(res.status).toBe(408);
      expect(res.body.error).toEqual({ code: 'BODY_TIMEOUT', message: expect.stringMatching(/did not arrive in time/) });
      expect(socket.destroyed || socket.readableEnded).toBe(true);
      expect(got.ms).toBeGreaterThanOrEqual(9_500);
      // The platform still answers.
      expect((await kinto.api('GET', '/v1/projects')).status).toBe(200);
    }, 20_000);
  });
});

describe('Function: readBody', () => {
  let server: Server;
  let port: number;
  const outcomes: unknown[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      void readBody(req, 1024, { idleMs: 300, totalMs: 800 }).then((body) => {
        outcomes.push(typeof body === 'string' ? body : body.toString());
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('gives up on a body that keeps coming, a byte at a time, past its total time', async () => {
    const socket = connect(port, '127.0.0.1');
    socket.write('POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n');
    const drip = setInterval(() => socket.write('x'), 100);
    const started = Date.now();
    await waitFor(() => outcomes.length > 0, 3000).finally(() => clearInterval(drip));
    socket.destroy();
    expect(outcomes).toEqual(['timed-out']);
    expect(Date.now() - started).toBeLessThan(1500);
  });
});

describe('Function: createControlServer, given the admin token', () => {
  let server: Server;
  let port: number;
  const calls: string[] = [];

  beforeAll(async () => {
    server = createControlServer({
      api: async (event: { rawPath: string }) => (calls.push(event.rawPath), { statusCode: 200, headers: {}, body: '{}' }),
      console: (_req, res) => res.end('console'),
      adminToken: () => 'the-token',
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('refuses a body without the token (401, before reading it) and takes one with it', async () => {
    const { socket, answer } = rawRequest(
      `http://127.0.0.1:${port}`,
      'POST /v1/projects HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000000\r\n\r\n',
    );
    const got = await answer(3000);
    socket.destroy();
    expect(parseAnswer(got.text).status).toBe(401);
    expect(got.ms).toBeLessThan(2000);
    const ok = await fetch(`http://127.0.0.1:${port}/v1/projects`, {
      method: 'POST',
      headers: { authorization: 'Bearer the-token', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(ok.status).toBe(200);
    expect(calls).toEqual(['/v1/projects']);
  });
});
