import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { Agent, createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bundleRequestGuard } from '../../lib/build-pipeline';
import { GuardError, withoutRoutePrefix } from '../../lambdas/adapters/aws/block-image/request-guard';
import { waitFor } from '../support/wait';

const listen = async (server: Server): Promise<number> => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
};

/** Lambda's Extensions API as the guard sees it: register, then `event/next` answered when the test says. */
class FakeExtensionsApi {
  readonly registrations: { name: unknown; body: unknown }[] = [];
  nextCalls = 0;
  private pendingNext: ((event: object) => void) | undefined;
  private readonly server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/2020-01-01/extension/register') {
        this.registrations.push({ name: req.headers['lambda-extension-name'], body: JSON.parse(body) });
        res.writeHead(200, { 'lambda-extension-identifier': 'ext-1', 'content-type': 'application/json' }).end('{}');
      } else if (
        req.method === 'GET' &&
        req.url === '/2020-01-01/extension/event/next' &&
        req.headers['lambda-extension-identifier'] === 'ext-1'
      ) {
        this.nextCalls++;
        this.pendingNext = (event) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(event));
      } else {
        res.writeHead(403).end('{"errorType":"Extension.Unknown"}');
      }
    });
  });
  async start(): Promise<string> {
    return `127.0.0.1:${await listen(this.server)}`;
  }
  async send(eventType: 'INVOKE' | 'SHUTDOWN'): Promise<void> {
    await waitFor(() => this.pendingNext, 5000, 10, 'the guard to ask for the next event');
    const answer = this.pendingNext!;
    this.pendingNext = undefined;
    answer({
      eventType,
      deadlineMs: Date.now() + 3000,
      ...(eventType === 'SHUTDOWN' ? { shutdownReason: 'spindown' } : { requestId: 'inv-1' }),
    });
  }
  stop(): void {
    this.server.closeAllConnections();
    this.server.close();
  }
}

/** The block: answers with what reached it. */
interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

const context = (requestId: string, routeKey: string, clientId?: string) =>
  JSON.stringify({
    requestId,
    routeKey,
    http: { method: 'GET' },
    ...(clientId !== undefined ? { authorizer: { lambda: { clientId, environmentId: 'env1', tokenId: 't1' } } } : {}),
  });

describe('Program: request guard (the Lambda extension in website and microservice images)', () => {
  let bundle: string;
  let api: FakeExtensionsApi;
  let block: Server;
  let blockPort: number;
  let guard: ChildProcess;
  let guardUrl: string;
  let output = '';
  const seen: Seen[] = [];

  beforeAll(async () => {
    bundle = bundleRequestGuard();
    api = new FakeExtensionsApi();
    const address = await api.start();
    block = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (c: string) => (body += c));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        if (req.url === '/die') {
          res.writeHead(200, { 'content-length': '100' }).write('half of it');
          setTimeout(() => res.socket?.destroy(), 50);
          return;
        }
        const hop = req.url === '/hop' ? { connection: 'close, x-block-hop', 'x-block-hop': 'private' } : {};
        res
          .writeHead(201, { 'content-type': 'text/plain', 'kinto-request-id': 'the-block-tried', 'x-block': 'yes', ...hop })
          .end(`hello ${req.url}${req.url === '/hop' ? `?${String(req.headers.connection)}` : ''}`);
      });
    });
    blockPort = await listen(block);
    const probe = createServer();
    const guardPort = await listen(probe);
    probe.close();
    guardUrl = `http://127.0.0.1:${guardPort}`;
    // As Lambda starts an extension: a process with the function's environment and the API's address.
    guard = spawn(process.execPath, [bundle], {
      env: { PATH: process.env.PATH, AWS_LAMBDA_RUNTIME_API: address, KINTO_GUARD_PORT: String(guardPort), PORT: String(blockPort) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    guard.stdout!.setEncoding('utf8').on('data', (t: string) => (output += t));
    guard.stderr!.setEncoding('utf8').on('data', (t: string) => (output += t));
    await waitFor(() => api.nextCalls > 0, 10_000, 20, 'the guard to register');
  });

  afterAll(async () => {
    if (guard.exitCode === null && guard.signalCode === null) {
      guard.kill('SIGKILL');
      await once(guard, 'exit');
    }
    api.stop();
    block.close();
  });

  beforeEach(() => (seen.length = 0));

  const call = async (path: string, headers: Record<string, string>, init: RequestInit = {}) => {
    const res = await fetch(`${guardUrl}${path}`, { ...init, headers });
    return { status: res.status, headers: res.headers, text: await res.text() };
  };

  it('is one executable file for /opt/extensions, run by the node the build puts at /opt/kinto/node', () => {
    const code = readFileSync(bundle, 'utf8');
    expect(code.split('\n')[0]).toBe('#!/opt/kinto/node');
    const required = [...code.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
    expect([...new Set(required)].sort()).toEqual(['node:http', 'node:stream']);
  });

  it('registers with its file name for INVOKE and SHUTDOWN, and asks for the next event after each', async () => {
    expect(api.registrations).toEqual([{ name: 'kinto-request-guard', body: { events: ['INVOKE', 'SHUTDOWN'] } }]);
    await api.send('INVOKE');
    await waitFor(() => api.nextCalls === 2, 5000, 10, 'the next event/next');
  });

  it("without the gateway's mapping: sets the request id and client id from the context, drops the token, strips the route's prefix", async () => {
    const res = await call(
      '/shop/items/7?x=1&y=%2F',
      {
        'x-amzn-request-context': context('Req1=', 'ANY /shop/{proxy+}', 'client-42'),
        'kinto-request-id': 'spoofed-by-caller',
        'kinto-client-id': 'spoofed-client',
        'kinto-authorization': 'caller-token',
        'content-type': 'application/json',
      },
      { method: 'POST', body: '{"order":1}' },
    );
    expect(res).toMatchObject({ status: 201, text: 'hello /items/7?x=1&y=%2F' });
    expect(res.headers.get('kinto-request-id')).toBe('Req1=');
    expect(res.headers.get('x-block')).toBe('yes');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/items/7?x=1&y=%2F', body: '{"order":1}' });
    expect(seen[0].headers).toMatchObject({
      'kinto-request-id': 'Req1=',
      'kinto-client-id': 'client-42',
      'content-type': 'application/json',
    });
    expect(seen[0].headers['kinto-authorization']).toBeUndefined();
  });

  it.each([
    ['/shop', 'ANY /shop', '/'],
    ['/shop?q=1', 'ANY /shop', '/?q=1'],
    ['/shop/', 'ANY /shop/{proxy+}', '/'],
    ['/_internal/k3y/shop/a/b', 'ANY /_internal/k3y/shop/{proxy+}', '/a/b'],
  ])('reaches the block with %s on route %s as %s, with no client id on a route without an authorizer', async (path, routeKey, url) => {
    const res = await call(path, { 'x-amzn-request-context': context('Req2=', routeKey), 'kinto-client-id': 'spoofed-client' });
    expect(res.status).toBe(201);
    expect(seen.map((s) => s.url)).toEqual([url]);
    expect(seen[0].headers['kinto-client-id']).toBeUndefined();
    expect(seen[0].headers['kinto-request-id']).toBe('Req2=');
  });

  it("with the gateway's mapping (the request already carries the context's request id): leaves the path as the gateway mapped it", async () => {
    const headers = { 'x-amzn-request-context': context('Req3=', 'ANY /shop/{proxy+}', ''), 'kinto-request-id': 'Req3=' };
    expect((await call('/shop/nested', headers)).status).toBe(201);
    expect((await call('/other', headers)).status).toBe(201);
    expect(seen.map((s) => s.url)).toEqual(['/shop/nested', '/other']);
    // A password website's authorizer answers an empty client id: none reaches the block.
    expect(seen[0].headers['kinto-client-id']).toBeUndefined();
  });

  it("passes the adapter's readiness check (no request context) with its path, and without a header the platform owns", async () => {
    const res = await call('/shop/x', {
      'kinto-request-id': 'forged',
      'kinto-client-id': 'forged',
      'kinto-authorization': 'forged',
      'x-other': 'kept',
    });
    expect(res.status).toBe(201);
    expect(seen[0].url).toBe('/shop/x');
    expect(seen[0].headers['x-other']).toBe('kept');
    for (const name of ['kinto-request-id', 'kinto-client-id', 'kinto-authorization']) expect(seen[0].headers[name]).toBeUndefined();
    expect(res.headers.get('kinto-request-id')).toBe('the-block-tried');
  });

  it("passes no hop-by-hop header either way (nor one the Connection header names), and keeps the adapter's connection", async () => {
    const answer = await new Promise<{ headers: IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const req = request(
        `${guardUrl}/shop/hop`,
        {
          agent: new Agent({ keepAlive: true }),
          headers: {
            'x-amzn-request-context': context('Req5=', 'ANY /shop/{proxy+}'),
            connection: 'keep-alive, x-private',
            'x-private': 'hop',
            te: 'trailers',
          },
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ headers: res.headers, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(answer.body).toBe('hello /hop?close');
    expect(seen[0].headers['x-private']).toBeUndefined();
    expect(seen[0].headers.te).toBeUndefined();
    // The block answered `Connection: close` (as every block does to a guard that keeps no connection): the adapter's stays open.
    expect(answer.headers.connection).toBe('keep-alive');
    expect(answer.headers['x-block-hop']).toBeUndefined();
  });

  it('cuts its answer when the block dies in the middle of one, instead of leaving the adapter waiting', async () => {
    const started = Date.now();
    const outcome = await new Promise<string>((resolve) => {
      const req = request(
        `${guardUrl}/shop/die`,
        { headers: { 'x-amzn-request-context': context('Req6=', 'ANY /shop/{proxy+}') } },
        (res) => {
          res.on('data', () => undefined);
          res.on('end', () => resolve('ended'));
          res.on('error', () => resolve('cut'));
          res.on('aborted', () => resolve('cut'));
        },
      );
      req.on('error', () => resolve('cut'));
      req.end();
    });
    expect(outcome).toBe('cut');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it.each([
    ['not JSON', '{', /not JSON/],
    ['without a requestId', JSON.stringify({ routeKey: 'ANY /shop' }), /no requestId/],
    ['for another path', context('Req4=', 'ANY /cart/{proxy+}'), /does not start with the route's \/cart/],
  ])('refuses a request context %s with a JSON 502, and the block never sees it', async (_what, value, message) => {
    const res = await call('/shop/x', { 'x-amzn-request-context': value });
    expect(res.status).toBe(502);
    expect(JSON.parse(res.text)).toEqual({ error: { code: 'REQUEST_CONTEXT_INVALID', message: expect.stringMatching(message) } });
    expect(seen).toEqual([]);
  });

  it('answers a JSON 502 while the block is not listening (the adapter waits on it)', async () => {
    block.close();
    block.closeAllConnections();
    const res = await call('/', {});
    expect(res.status).toBe(502);
    expect(JSON.parse(res.text).error.code).toBe('BLOCK_NOT_LISTENING');
    block.listen(blockPort, '127.0.0.1');
    await once(block, 'listening');
  });

  it('ends, closing its port, when Lambda shuts the environment down', async () => {
    await api.send('SHUTDOWN');
    const [code] = (await once(guard, 'exit')) as [number | null];
    expect({ code, output }).toEqual({ code: 0, output: '' });
    await expect(fetch(`${guardUrl}/`)).rejects.toThrow();
  });
});

describe('withoutRoutePrefix', () => {
  it('takes off only a whole path segment', () => {
    expect(withoutRoutePrefix('/shop/a', 'ANY /shop/{proxy+}')).toBe('/a');
    expect(() => withoutRoutePrefix('/shopping/a', 'ANY /shop/{proxy+}')).toThrow(GuardError);
    expect(() => withoutRoutePrefix('/shop', 'ANY /{proxy+}')).toThrow(/not a block's route/);
    expect(() => withoutRoutePrefix('/shop', '$default')).toThrow(/not a block's route/);
  });
});
