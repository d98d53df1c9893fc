import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { createControlServer } from '../../lambdas/local/servers/control-server';
import { createPublicServer, forwardToControl } from '../../lambdas/local/servers/public-server';

const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

/** Which part of the platform a URL reaches, as the real servers route it (over real HTTP). */
describe('Function: createPublicServer', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createPublicServer({
      gateway: (_req, res, envId, rest) => res.end(JSON.stringify({ to: 'gateway', envId, rest })),
      control: (req, res) => res.end(JSON.stringify({ to: 'control', url: req.url })),
    });
    base = await listen(server);
  });

  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const reach = async (path: string) => (await fetch(base + path)).json();

  it.each([
    ['/gw/env1/api/x', 'env1', '/api/x'],
    ['/gw/env1/api/x?q=/y', 'env1', '/api/x'],
    ['/gw/env1', 'env1', '/'],
    ['/gw/env1?q=1', 'env1', '/'],
    ['/gw/env1/', 'env1', '/'],
    ['/gw/Ab_-9/a/b/c/', 'Ab_-9', '/a/b/c/'],
    [`/gw/${'a'.repeat(64)}/x`, 'a'.repeat(64), '/x'],
  ])('sends %s to the gateway of its environment with the path after it, without the query', async (path, envId, rest) => {
    expect(await reach(path)).toEqual({ to: 'gateway', envId, rest });
  });

  it.each(['/gw/', '/gw/?q=1', '/gw//x', `/gw/${'a'.repeat(65)}/x`, '/gw/a.b/x', '/gw/a%20b/x', '/', '/gwx/env1/x', '/v1/projects'])(
    'sends %s, which names no environment, to the control plane whole',
    async (path) => {
      expect(await reach(path)).toEqual({ to: 'control', url: path });
    },
  );
});

describe('Function: createControlServer', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createControlServer({
      api: async () => ({ statusCode: 200, headers: {}, body: JSON.stringify({ to: 'api' }) }),
      console: (_req, res) => res.end(JSON.stringify({ to: 'console' })),
    });
    base = await listen(server);
  });

  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const reach = async (path: string) => (await fetch(base + path)).json();

  it.each(['/v1', '/v1/projects', '/v1?x=1'])('sends %s to the API', async (path) => {
    expect(await reach(path)).toEqual({ to: 'api' });
  });

  it.each(['/', '/v1x', '/console'])('sends %s to the console', async (path) => {
    expect(await reach(path)).toEqual({ to: 'console' });
  });
});

describe('Function: forwardToControl', () => {
  let control: Server;
  let front: Server;
  let base: string;
  let forwarder: ReturnType<typeof forwardToControl>;
  let endStream = (): void => undefined;

  beforeAll(async () => {
    control = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.url === '/stream') {
          // A follow stream: the second line only once the caller has the first.
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write('data: 1\n\n');
          endStream = () => res.end('data: 2\n\n');
          return;
        }
        res.writeHead(201, { 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'], 'x-seen-host': req.headers.host ?? '' });
        res.end(
          JSON.stringify({ method: req.method, url: req.url, body: Buffer.concat(chunks).toString(), auth: req.headers.authorization }),
        );
      });
    });
    const controlUrl = await listen(control);
    forwarder = forwardToControl(Number(new URL(controlUrl).port), { adminToken: 't' });
    front = createPublicServer({ gateway: (_req, res) => res.end('gateway'), control: forwarder.forward });
    base = await listen(front);
  });

  afterAll(async () => {
    await forwarder.close();
    await new Promise((resolve) => front.close(resolve));
    await new Promise((resolve) => control.close(resolve));
  });

  it('passes method, path, query, headers and body to the control plane, and its answer back whole', async () => {
    const res = await fetch(`${base}/v1/projects?limit=2`, {
      method: 'POST',
      headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
      body: '{"name":"x"}',
    });
    expect(res.status).toBe(201);
    expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(res.headers.get('x-seen-host')).toBe(new URL(base).host);
    expect(await res.json()).toEqual({ method: 'POST', url: '/v1/projects?limit=2', body: '{"name":"x"}', auth: 'Bearer t' });
  });

  it('streams an answer as it comes (log follow)', async () => {
    const res = await fetch(`${base}/stream`);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: 1\n\n');
    endStream();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: 2\n\n');
    expect((await reader.read()).done).toBe(true);
  });

  it('answers 413 itself for a body over the control API limit', async () => {
    const res = await fetch(`${base}/v1/projects`, {
      method: 'POST',
      headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
      body: 'x'.repeat(1024 * 1024 + 1),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as any).error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('answers 502 with the error contract when the control plane does not answer', async () => {
    const dead = forwardToControl(1, { adminToken: 't' });
    const server = createPublicServer({ gateway: (_req, res) => res.end(), control: dead.forward });
    const url = await listen(server);
    try {
      const res = await fetch(`${url}/v1/projects`);
      expect(res.status).toBe(502);
      expect(((await res.json()) as any).error.code).toBe('CONTROL_PLANE_UNAVAILABLE');
    } finally {
      await dead.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
