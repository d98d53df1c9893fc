/**
 * `npm run bench -- logs-feed`: why the local platform indexes logs into files, not dynalite.
 *
 * The same block (logs one JSON line with its request id and one plain line per request) is called
 * through, with 50 connections:
 *   - a bare Node reverse proxy (keep-alive agent, no logging) to the block run by hand;
 *   - the local gateway with KINTO_LOG_STORE=off (no log index);
 *   - the local gateway with the default file log store;
 *   - the local gateway with the logs table on dynalite (KINTO_LOG_STORE=dynamodb).
 * It prints requests/s (median of the runs) and, per mode, what the log feed indexed and shed.
 * Bare, off and files take turns run after run (drift hits them alike); the dynalite mode runs
 * last, alone, and the process exits without draining its backlog.
 */
import { spawn } from 'node:child_process';
import { createServer, request, Agent } from 'node:http';
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import { freePort } from '../lambdas/adapters/local/runtime/block-process';
import { createGitRepo, NODE_SERVICE } from '../test/support/git-repo';
import { startTestPlatform, type TestPlatform } from '../test/support/platform';
import { median, saveResults } from './results';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = 50;

async function load(url: string, seconds = SECONDS): Promise<number> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: seconds, workers: 1 });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return result.requests.average;
}

async function bareProxy(): Promise<{ url: string; close(): void }> {
  const port = await freePort();
  const block = spawn(process.execPath, ['-e', NODE_SERVICE], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  block.stdout.resume(); // read and drop, as a proxy without logging would
  block.stderr.resume();
  await new Promise((r) => setTimeout(r, 500));
  const agent = new Agent({ keepAlive: true, maxSockets: 1024 });
  const server = createServer((req, res) => {
    const up = request(
      {
        host: '127.0.0.1',
        port,
        path: req.url!.replace(/^\/api/, '') || '/',
        method: req.method,
        headers: { ...req.headers, 'kinto-request-id': 'x' },
        agent,
      },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/hello`,
    close: () => (server.close(), agent.destroy(), block.kill()),
  };
}

async function platform(store: 'off' | 'files' | 'dynamodb'): Promise<{ kinto: TestPlatform; url: string }> {
  process.env.KINTO_LOG_STORE = store;
  const kinto = await startTestPlatform({ idleTimeoutMs: 600_000 });
  const repo = createGitRepo({ 'server.js': NODE_SERVICE });
  await kinto.api('POST', '/v1/projects', { name: 'bench' });
  await kinto.api('POST', '/v1/projects/bench/blocks', {
    name: 'api',
    type: 'microservice',
    source: { repo },
    build: { startCommand: 'node server.js' },
  });
  await kinto.api('POST', '/v1/projects/bench/environments', { name: 'dev' });
  await kinto.api('PUT', '/v1/projects/bench/environments/dev/blocks/api/config', { visibility: 'public' });
  await kinto.buildBlock('bench', 'api');
  await kinto.api('POST', '/v1/projects/bench/releases', { version: '1.0.0' });
  const deployed = await kinto.api('POST', '/v1/projects/bench/environments/dev/deployments', { release: '1.0.0' });
  if (deployed.status !== 201) throw new Error(JSON.stringify(deployed.body));
  return { kinto, url: `${await kinto.gatewayUrl('bench', 'dev')}/api/hello` };
}

async function main(): Promise<void> {
  // Bare proxy, gateway without logs and gateway with the file store run side by side and take
  // turns, run after run, so that the machine's drift hits all three alike. The dynalite mode runs
  // last, alone: its backlog keeps the CPU busy long after its runs.
  const bare = await bareProxy();
  const off = await platform('off');
  const files = await platform('files');
  const modes: { name: string; url: string; kinto?: TestPlatform; rates: number[] }[] = [
    { name: 'bare proxy', url: bare.url, rates: [] },
    { name: 'gateway, logs: off', url: off.url, kinto: off.kinto, rates: [] },
    { name: 'gateway, logs: files', url: files.url, kinto: files.kinto, rates: [] },
  ];
  for (const m of modes) await load(m.url, 2);
  for (let i = 0; i < RUNS; i++) for (const m of modes) m.rates.push(await load(m.url));
  bare.close();
  const results: Record<string, { rps: number; rates: number[]; feed?: unknown }> = {};
  for (const m of modes) results[m.name] = { rps: median(m.rates), rates: m.rates, feed: await m.kinto?.logFeed?.stats() };
  await off.kinto.stop();
  await files.kinto.stop();

  const dyn = await platform('dynamodb');
  await load(dyn.url, 2);
  const dynRates: number[] = [];
  for (let i = 0; i < RUNS; i++) dynRates.push(await load(dyn.url));
  results['gateway, logs: dynamodb'] = { rps: median(dynRates), rates: dynRates, feed: await dyn.kinto.logFeed?.stats() };

  const base = results['bare proxy'].rps;
  console.log(`\nLocal feed, ${CONNECTIONS} connections, ${RUNS} x ${SECONDS} s, median requests/s:`);
  console.table(
    Object.fromEntries(
      Object.entries(results).map(([k, v]) => {
        const f = v.feed as { queued: number; indexed: number; shed: number; waiting: number } | undefined;
        return [
          k,
          {
            'req/s': Math.round(v.rps),
            'vs bare': `${Math.round((v.rps / base) * 100)} %`,
            runs: v.rates.map(Math.round).join(' '),
            'entries queued': f?.queued ?? '',
            indexed: f?.indexed ?? '',
            shed: f?.shed ?? '',
            'still waiting': f?.waiting ?? '',
          },
        ];
      }),
    ),
  );
  const offRps = results['gateway, logs: off'].rps;
  console.log(
    `File-store logging costs ${Math.round((1 - results['gateway, logs: files'].rps / offRps) * 100)} % of the gateway's throughput (files vs off, same runs).`,
  );
  saveResults('logs-feed', { runs: RUNS, seconds: SECONDS, connections: CONNECTIONS, results });
  process.exit(0); // the dynalite platform still has a backlog to write: not waited for
}

void main();
