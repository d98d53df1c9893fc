import { clientToken, type ClientToken } from '../support/client-token';
import { createGitRepo } from '../support/git-repo';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { openWebSocket, WEBSOCKET_SERVICE, type OpenSocket } from '../support/websocket';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** WebSockets through the local gateway (issue 21), to a real block process, with a hand-made handshake. */
describe('WebSockets through the gateway', () => {
  let kinto: TestPlatform;
  let gw: string;
  let client: ClientToken;
  const ENV = '/v1/projects/live/environments/dev';
  const opened: OpenSocket[] = [];

  const open = async (path: string, headers: Record<string, string> = {}): Promise<OpenSocket> => {
    const got = await openWebSocket(`${gw}${path}`, headers);
    if (!got.upgraded) throw new Error(`no upgrade: ${got.status} ${got.body}`);
    opened.push(got.socket);
    return got.socket;
  };

  /** An upgrade request that must be answered (not upgraded). */
  const answered = async (url: string, headers: Record<string, string> = {}) => {
    const got = await openWebSocket(url, headers);
    if (got.upgraded) {
      opened.push(got.socket);
      throw new Error(`${url} was upgraded`);
    }
    return got;
  };

  beforeAll(async () => {
    // A short idle time: an open WebSocket must keep its block running past it.
    kinto = await startTestPlatform({ idleTimeoutMs: 1000 });
    const repo = createGitRepo({ 'ws.js': WEBSOCKET_SERVICE });
    await kinto.api('POST', '/v1/projects', { name: 'live' });
    await kinto.api('POST', '/v1/projects/live/blocks', {
      name: 'chat',
      type: 'microservice',
      source: { repo },
      build: { startCommand: 'node ws.js' },
    });
    // Neither takes upgrades: a static website (files) and a custom service (TCP, never through the gateway).
    await kinto.api('POST', '/v1/projects/live/blocks', { name: 'site', type: 'website', kind: 'static', source: { repo } });
    await kinto.api('POST', '/v1/projects/live/blocks', {
      name: 'tcp',
      type: 'custom-service',
      source: { repo },
      build: { startCommand: 'node ws.js' },
    });
    await kinto.api('POST', '/v1/projects/live/environments', { name: 'dev' });
    await Promise.all(['chat', 'site', 'tcp'].map((b) => kinto.buildBlock('live', b)));
    await kinto.api('POST', '/v1/projects/live/releases', { version: '1.0.0' });
    expect((await kinto.deploy('live', 'dev', { release: '1.0.0' })).status).toBe('succeeded');
    gw = await kinto.gatewayUrl('live', 'dev');
    client = await clientToken(kinto, 'live', 'dev');
  }, 60_000);
  afterAll(async () => {
    for (const s of opened) s.close();
    await kinto.stop();
  });

  it('refuses the upgrade of a protected block without a token, as it refuses a request', async () => {
    const got = await answered(`${gw}/chat/room`);
    expect(got.status).toBe(401);
    expect(got.headers['kinto-request-id']).toMatch(UUID);
    expect(JSON.parse(got.body).error.code).toBe('TOKEN_MISSING');
    const forged = await answered(`${gw}/chat/room`, { 'kinto-authorization': 'Bearer not-a-token' });
    expect(forged.status).toBe(401);
  });

  it('passes the upgrade through with a token: the platform sets the request id (never the caller nor the block) and the client id', async () => {
    const socket = await open('/chat/room?x=1', { 'kinto-authorization': client.token, 'kinto-request-id': 'spoofed-by-caller' });
    const requestId = socket.headers['kinto-request-id'];
    expect(requestId).toMatch(UUID);
    const hello = JSON.parse(await socket.next());
    expect(hello).toMatchObject({ requestId, clientId: client.clientId, path: '/room?x=1' });
    socket.send('ping');
    expect(await socket.next()).toBe('echo:ping');

    await kinto.logFeed!.flush();
    const entry = await kinto.api('GET', `${ENV}/requests/${String(requestId)}`);
    expect(entry.body.data.access).toMatchObject({ requestId, status: 101, block: 'chat', path: '/chat/room' });
  });

  it('keeps the block running while a WebSocket is open, past its idle time', async () => {
    const socket = await open('/chat/long', { 'kinto-authorization': client.token });
    const { instance } = JSON.parse(await socket.next());
    await new Promise((r) => setTimeout(r, 1800));
    socket.send('still there?');
    expect(await socket.next()).toBe('echo:still there?');
    const again = await open('/chat/again', { 'kinto-authorization': client.token });
    expect(JSON.parse(await again.next()).instance).toBe(instance);
  });

  it("passes the block's refusal back, and closes: the connection carries nothing more past the gateway", async () => {
    const got = await answered(`${gw}/chat/refuse`, { 'kinto-authorization': client.token });
    expect(got.status).toBe(403);
    expect(got.headers['kinto-request-id']).toMatch(UUID);
    expect(got.headers.connection).toBe('close');
    expect(got.body).toBe('no');
  });

  it('answers 404 for a block the gateway does not serve (a custom service included), 400 for a static website', async () => {
    const missing = await answered(`${gw}/nope/`, { 'kinto-authorization': client.token });
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body).error.code).toBe('BLOCK_NOT_FOUND');
    expect((await answered(`${gw}/_internal/not-the-key/chat/`)).status).toBe(404);
    const service = await answered(`${gw}/tcp/`);
    expect(service.status).toBe(404);
    expect(JSON.parse(service.body).error.code).toBe('CUSTOM_SERVICE_INTERNAL');
    const site = await answered(`${gw}/site/`);
    expect(site.status).toBe(400);
    expect(JSON.parse(site.body).error.code).toBe('UPGRADE_NOT_SUPPORTED');
    expect((await answered(`${kinto.url}/v1/projects`)).status).toBe(404);
  });
});
