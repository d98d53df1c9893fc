import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createPlatformServer } from '../../lambdas/adapters/local/platform-server';

/** Which part of the platform a URL reaches, as the real server routes it (over real HTTP). */
describe('Function: createPlatformServer', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createPlatformServer({
      api: async () => ({ statusCode: 200, headers: {}, body: JSON.stringify({ to: 'api' }) }),
      gateway: (_req, res, envId, rest) => res.end(JSON.stringify({ to: 'gateway', envId, rest })),
      console: (_req, res) => res.end(JSON.stringify({ to: 'console' })),
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
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

  it.each(['/gw/', '/gw/?q=1', '/gw//x', `/gw/${'a'.repeat(65)}/x`, '/gw/a.b/x', '/gw/a%20b/x', '/', '/gwx/env1/x'])('sends %s, which names no environment, to the console', async (path) => {
    expect(await reach(path)).toEqual({ to: 'console' });
  });

  it('sends /v1 paths to the API', async () => {
    expect(await reach('/v1/projects')).toEqual({ to: 'api' });
  });
});
