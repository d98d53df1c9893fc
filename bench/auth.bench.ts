/**
 * `npm run bench -- auth` (env: RUNS=5)
 *
 * 1. Token verification, warm, in this process, one at a time (one core):
 *    - Kinto's verifier on distinct tokens (jose, HS256 key imported once as a CryptoKey; every
 *      token is new, so each one is fully checked: signature, claims, client status from memory);
 *    - jose's jwtVerify alone with the same CryptoKey (what the verifier adds on top of jose);
 *    - jose with raw key bytes (a new array per call, so jose imports the key on every call);
 *    - Kinto's verifier on one repeated token (served from the verified-claims cache);
 *    - the floor: raw HMAC-SHA256 (node:crypto) + JSON.parse of the payload of the same tokens.
 *    Targets: >= 10,000/s distinct, >= 500,000/s repeated.
 * 2. The authorizer Lambda bundle (esbuild, minified, AWS SDK external, as the CDK construct
 *    builds it): size (<= 25 KB) and module init, i.e. `require()` of the bundle in a fresh Node
 *    process (<= 30 ms; median of several processes).
 */
import { createHmac, timingSafeEqual, type webcrypto } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { jwtVerify } from 'jose';
import { importTokenKey, tokenKeyBytes } from '../lambdas/core/auth/platform-keys';
import { signToken } from '../lambdas/core/auth/sign-token';
import { TokenVerifier } from '../lambdas/core/auth/verify-token';
import { median, saveResults } from './results';

const RUNS = Number(process.env.RUNS ?? 5);
const DISTINCT = 20_000;
const REPEATS = 2_000_000;
const ENV_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const CLIENT_ID = '0123456789abcdef0123456789abcdef';
const ROOT = join(__dirname, '..');

async function makeTokens(key: webcrypto.CryptoKey, n: number): Promise<string[]> {
  const now = Math.floor(Date.now() / 1000);
  const tokens: string[] = [];
  for (let i = 0; i < n; i++) {
    tokens.push(
      await signToken(key, {
        issuer: 'kinto',
        envId: ENV_ID,
        clientId: CLIENT_ID,
        generation: 1,
        tokenId: i.toString(16).padStart(32, '0'),
        issuedAt: now,
        lifetimeSeconds: 3600,
      }),
    );
  }
  return tokens;
}

/** Operations per second of `fn` over `n` operations. */
async function rate(n: number, fn: () => Promise<void> | void): Promise<number> {
  const started = performance.now();
  await fn();
  return n / ((performance.now() - started) / 1000);
}

async function main(): Promise<void> {
  const material = Buffer.from('bench-platform-key-material-0123456789-abcdefghijklmnop');
  const cryptoKey = await importTokenKey(material);
  const rawKey = tokenKeyBytes(material);
  const tokens = await makeTokens(cryptoKey, DISTINCT);
  const clientStatus = async () => ({ generation: 1 });
  const results = {
    distinct: [] as number[],
    joseOnly: [] as number[],
    rawBytes: [] as number[],
    repeated: [] as number[],
    floor: [] as number[],
  };

  for (let run = 0; run < RUNS; run++) {
    // Distinct tokens: a fresh verifier each run, so no token is cached.
    const verifier = new TokenVerifier({ key: cryptoKey, issuer: 'kinto', clientStatus, maxEntries: DISTINCT * 2 });
    results.distinct.push(
      await rate(DISTINCT, async () => {
        for (const t of tokens) if (!(await verifier.verify(t, ENV_ID)).ok) throw new Error('a valid token was refused');
      }),
    );
    results.joseOnly.push(
      await rate(DISTINCT, async () => {
        for (const t of tokens) await jwtVerify(t, cryptoKey, { algorithms: ['HS256'], issuer: 'kinto', audience: ENV_ID });
      }),
    );
    // Raw key bytes as a caller holding them would pass them: a new array per call, re-imported each time.
    const rawCount = DISTINCT / 4;
    results.rawBytes.push(
      await rate(rawCount, async () => {
        for (let i = 0; i < rawCount; i++)
          await jwtVerify(tokens[i], Uint8Array.from(rawKey), { algorithms: ['HS256'], issuer: 'kinto', audience: ENV_ID });
      }),
    );
    const one = tokens[run];
    await verifier.verify(one, ENV_ID);
    results.repeated.push(
      await rate(REPEATS, () => {
        for (let i = 0; i < REPEATS; i++) {
          const v = verifier.verify(one, ENV_ID);
          if ('then' in v || !v.ok) throw new Error('the repeated token was not served from the cache');
        }
      }),
    );
    results.floor.push(
      await rate(DISTINCT, () => {
        for (const t of tokens) {
          const dot1 = t.indexOf('.');
          const dot2 = t.indexOf('.', dot1 + 1);
          const mac = createHmac('sha256', rawKey).update(t.slice(0, dot2)).digest();
          if (!timingSafeEqual(mac, Buffer.from(t.slice(dot2 + 1), 'base64url'))) throw new Error('bad floor signature');
          JSON.parse(Buffer.from(t.slice(dot1 + 1, dot2), 'base64url').toString('utf8'));
        }
      }),
    );
  }

  // The authorizer bundle, built as the GatewayAuthorizer construct builds it.
  const out = mkdtempSync(join(tmpdir(), 'kinto-bench-auth-'));
  const bundle = join(out, 'index.js');
  buildSync({
    entryPoints: [join(ROOT, 'lambdas/handlers/authorizer.ts')],
    bundle: true,
    minify: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    mainFields: ['module', 'main'],
    external: ['@aws-sdk/*'],
    outfile: bundle,
    logLevel: 'warning',
  });
  const bytes = statSync(bundle).size;
  const initMs: number[] = [];
  for (let i = 0; i < Math.max(RUNS, 7); i++) {
    // A plain Node, as Lambda's: without the TypeScript loader this bench runs under (NODE_OPTIONS).
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const r = spawnSync(
      process.execPath,
      [
        '-e',
        `const t=process.hrtime.bigint();require(${JSON.stringify(bundle)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`,
      ],
      { encoding: 'utf8', env },
    );
    if (r.status !== 0) throw new Error(`loading the bundle failed: ${r.stderr}`);
    initMs.push(Number(r.stdout));
  }
  rmSync(out, { recursive: true, force: true });

  const m = {
    distinct: median(results.distinct),
    joseOnly: median(results.joseOnly),
    rawBytes: median(results.rawBytes),
    repeated: median(results.repeated),
    floor: median(results.floor),
    bundleKb: bytes / 1024,
    initMs: median(initMs),
  };
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  console.log(
    `\nToken verification, warm, in process, one at a time; median of ${RUNS} runs (${DISTINCT.toLocaleString('en-US')} distinct tokens, ${REPEATS.toLocaleString('en-US')} repeats)`,
  );
  console.table({
    'distinct tokens (CryptoKey imported once)': {
      'verifications/s': fmt(m.distinct),
      'vs floor': `${((m.distinct / m.floor) * 100).toFixed(1)} %`,
    },
    'distinct tokens, jose jwtVerify alone (same CryptoKey)': {
      'verifications/s': fmt(m.joseOnly),
      'vs floor': `${((m.joseOnly / m.floor) * 100).toFixed(1)} %`,
    },
    'distinct tokens, jose with raw key bytes (re-imported)': {
      'verifications/s': fmt(m.rawBytes),
      'vs floor': `${((m.rawBytes / m.floor) * 100).toFixed(1)} %`,
    },
    'repeated token (verified-claims cache)': {
      'verifications/s': fmt(m.repeated),
      'vs floor': `${((m.repeated / m.floor) * 100).toFixed(0)} %`,
    },
    'floor: raw HMAC-SHA256 + JSON.parse': { 'verifications/s': fmt(m.floor), 'vs floor': '100 %' },
  });
  console.log(
    `\nAuthorizer Lambda bundle (esbuild, minified, @aws-sdk/* external); init = require() in a fresh process, median of ${initMs.length}`,
  );
  console.table({ authorizer: { 'size KB': m.bundleKb.toFixed(1), 'init ms': m.initMs.toFixed(1) } });
  const targets = {
    'distinct >= 10,000/s': m.distinct >= 10_000,
    'repeated >= 500,000/s': m.repeated >= 500_000,
    'bundle <= 25 KB': m.bundleKb <= 25,
    'init <= 30 ms': m.initMs <= 30,
  };
  console.table(Object.fromEntries(Object.entries(targets).map(([k, v]) => [k, v ? 'met' : 'MISSED'])));
  saveResults('auth', { runs: RUNS, perRun: results, initMs, medians: m, targets });
  if (Object.values(targets).some((v) => !v)) process.exitCode = 1;
}

void main();
