/**
 * The request guard as a Lambda external extension (`/opt/extensions/kinto-request-guard`): Lambda
 * starts it next to the Web Adapter, the adapter sends each request to it (`AWS_LWA_PORT` =
 * `KINTO_GUARD_PORT`) and it passes them on to the block at `PORT`. As an extension it leaves the
 * block's own ENTRYPOINT and CMD as they are, and ends when Lambda shuts the environment down.
 */
import { createServer, request } from 'node:http';
import { forward } from './request-guard';

/** Lambda runs an extension by its file name and expects the same name when it registers. */
export const EXTENSION_NAME = 'kinto-request-guard';

/** One call to the Extensions API (`http://$AWS_LAMBDA_RUNTIME_API/2020-01-01/extension/...`). */
function extensionApi(
  address: string,
  method: 'GET' | 'POST',
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const [host, port] = address.split(':');
    const req = request({ host, port: Number(port), method, path: `/2020-01-01/extension/${path}`, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Registers, then waits for events until SHUTDOWN (INVOKE events need nothing: the adapter serves them). */
async function followLifecycle(address: string): Promise<void> {
  const registered = await extensionApi(
    address,
    'POST',
    'register',
    { 'lambda-extension-name': EXTENSION_NAME, 'content-type': 'application/json' },
    JSON.stringify({ events: ['INVOKE', 'SHUTDOWN'] }),
  );
  const id = registered.headers['lambda-extension-identifier'];
  if (registered.status !== 200 || typeof id !== 'string') throw new Error(`could not register (${registered.status}): ${registered.body}`);
  for (;;) {
    const next = await extensionApi(address, 'GET', 'event/next', { 'lambda-extension-identifier': id });
    if (next.status !== 200) throw new Error(`could not read the next event (${next.status}): ${next.body}`);
    if ((JSON.parse(next.body) as { eventType?: string }).eventType === 'SHUTDOWN') return;
  }
}

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const guardPort = Number(env.KINTO_GUARD_PORT);
  const blockPort = Number(env.PORT);
  const address = env.AWS_LAMBDA_RUNTIME_API;
  if (!address || !Number.isInteger(guardPort) || !Number.isInteger(blockPort)) {
    throw new Error('AWS_LAMBDA_RUNTIME_API, KINTO_GUARD_PORT and PORT are set by Lambda and the image');
  }
  const server = createServer((req, res) => forward(blockPort, req, res));
  // The adapter keeps its connection; a timeout would close it while Lambda freezes the environment.
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(guardPort, '127.0.0.1', resolve));
  await followLifecycle(address);
  server.close();
  server.closeAllConnections();
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(`[kinto] request guard: ${(e as Error).message}`);
      process.exit(1);
    },
  );
}
