import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import type { Server } from 'node:http';
import { createControlServer } from '../../lambdas/local/servers/control-server';

/** The control plane's own server, over real HTTP and a raw socket. */
describe('Function: createControlServer', () => {
  let server: Server;
  let port: number;
  const calls: string[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    server = createControlServer({
      api: (async (event: { rawPath: string }) => (calls.push(event.rawPath), { statusCode: 200, body: '{}' })) as never,
      console: (_req, res) => res.end('console'),
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await new Promise((resolve) => server.close(resolve));
  });

  it('drops a request whose body is cut off mid-way, without calling the API, and keeps serving', async () => {
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('POST /v1/projects HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"name":');
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(unhandled).toEqual([]);
    expect(calls).toEqual([]);
    expect((await fetch(`http://127.0.0.1:${port}/v1/projects`)).status).toBe(200);
    expect(calls).toEqual(['/v1/projects']);
  });
});
