/**
 * `npm run bench -- request-guard` (env: RUNS=5, REQUESTS=3000)
 *
 * What Kinto's request guard (the Lambda extension between the Web Adapter and a website or
 * microservice, `lambdas/adapters/aws/block-image/`) costs, measured here as a process, the
 * bundle CDK ships (`bundleRequestGuard`), against a fake Extensions API:
 * 1. Start: from spawning the guard to its `register` call (a cold start waits for it: Lambda
 *    starts the block once its extensions have registered).
 * 2. Per request: sequential GETs over one kept connection (as the adapter sends them) to a bare
 *    HTTP server, directly (the baseline) and through the guard with a request context, in the
 *    same run, alternating; median of RUNS rounds of REQUESTS each. The guard's own cost is the
 *    difference.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bundleRequestGuard } from '../lib/build-pipeline';
import { median, saveResults } from './results';

const RUNS = Number(process.env.RUNS ?? 5);
const REQUESTS = Number(process.env.REQUESTS ?? 3000);
const CONTEXT = JSON.stringify({ requestId: 'bench=', routeKey: 'ANY /shop/{proxy+}' });

const listen = async (server: Server): Promise<number> => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
};

/** Microseconds per request for `count` sequential GETs to `port`. */
async function loop(port: number, withContext: boolean, count: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path: '/shop/items', agent, headers: withContext ? { 'x-amzn-request-context': CONTEXT } : {} },
        (res) => {
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.end();
    });
  for (let i = 0; i < 200; i++) await one(); // warm-up
  const started = performance.now();
  for (let i = 0; i < count; i++) await one();
  const us = ((performance.now() - started) / count) * 1000;
  agent.destroy();
  return us;
}

async function main(): Promise<void> {
  const bundle = bundleRequestGuard();
  let registeredAt = 0;
  const api = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url!.endsWith('/register')) {
        registeredAt = performance.now();
        res.writeHead(200, { 'lambda-extension-identifier': 'bench' }).end('{}');
      }
      // event/next stays unanswered: the guard keeps serving until the bench ends.
    });
  });
  const block = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  const [apiPort, blockPort] = [await listen(api), await listen(block)];
  const probe = createServer();
  const guardPort = await listen(probe);
  probe.close();

  const spawnedAt = performance.now();
  const guard = spawn(process.execPath, [bundle], {
    env: { AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${apiPort}`, KINTO_GUARD_PORT: String(guardPort), PORT: String(blockPort) },
    stdio: 'inherit',
  });
  while (!registeredAt) await new Promise((r) => setTimeout(r, 1));
  const startMs = registeredAt - spawnedAt;

  const direct: number[] = [];
  const guarded: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    direct.push(await loop(blockPort, false, REQUESTS));
    guarded.push(await loop(guardPort, true, REQUESTS));
  }
  guard.kill();
  api.closeAllConnections();
  api.close();
  block.close();

  const results = {
    startMs: Math.round(startMs * 10) / 10,
    directUs: Math.round(median(direct)),
    guardedUs: Math.round(median(guarded)),
    addedUs: Math.round(median(guarded) - median(direct)),
  };
  console.table([
    { what: 'start to register (ms)', value: results.startMs },
    { what: `per request, direct (µs, median of ${RUNS} x ${REQUESTS})`, value: results.directUs },
    { what: 'per request, through the guard (µs)', value: results.guardedUs },
    { what: 'added by the guard (µs)', value: results.addedUs },
  ]);
  saveResults('request-guard', { ...results, runs: { direct, guarded } });
}

void main().then(() => process.exit(0));
