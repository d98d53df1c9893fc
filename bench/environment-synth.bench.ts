/**
 * `npm run bench -- environment-synth` (env: RUNS=5)
 *
 * What synthesizing an environment's stack at deploy time costs in the deployer Lambda:
 * 1. `lib/synthesize-environment.ts` bundled with the local esbuild (platform node, cjs, minified,
 *    as a Lambda bundle would be): its size raw and gzipped (Lambda's limits: 50 MB zipped
 *    upload, 250 MB unzipped).
 * 2. Whether the bundle runs alone, from a folder with no node_modules: with aws-cdk-lib's
 *    built-in CloudFormation validation off (synthesizeEnvironment's default) it must; with it on,
 *    aws-cdk-lib's `@aws/cloudformation-validate` reads `bindings_wasm_bg.wasm` from the bundle's
 *    own folder, so that file must be copied beside it.
 * 3. Synthesis of environments of 1, 20 and 50 blocks (bin/examples/environments.ts), each run
 *    in a fresh `node` process, module loading included: wall time from spawn to exit, and inside
 *    the process the `require()` of the bundle and the synthesis. Median of RUNS runs. Then the
 *    same from the TypeScript sources (tsx, as the render command runs), and 20 blocks with the
 *    validation on (wasm beside the bundle).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildSync } from 'esbuild';
import { exampleEnvironment, manyBlocks } from '../bin/examples/environments';
import { median, saveResults } from './results';

const RUNS = Number(process.env.RUNS ?? 5);
const SIZES = [1, 20, 50];
const ROOT = join(__dirname, '..');
const WASM_NAME = 'bindings_wasm_bg.wasm';

interface Run {
  wallMs: number;
  requireMs: number;
  synthMs: number;
  resources: number;
  templateBytes: number;
}

/** A plain Node, as Lambda's: without the TypeScript loader this bench runs under (NODE_OPTIONS). */
function plainEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, CDK_HOME: home };
  delete env.NODE_OPTIONS;
  return env;
}

/** The child: load the module, synthesize the description, print what it measured. */
const childScript = (modulePath: string, descriptionFile: string, validate: boolean) => `
const t0 = performance.now();
const { synthesizeEnvironment } = require(${JSON.stringify(modulePath)});
const t1 = performance.now();
const description = JSON.parse(require('fs').readFileSync(${JSON.stringify(descriptionFile)}, 'utf8'));
const { template } = synthesizeEnvironment(description, { deploymentId: 'bench', shape: 'bench', cloudFormationValidation: ${validate} });
const t2 = performance.now();
process.stdout.write(JSON.stringify({ requireMs: t1 - t0, synthMs: t2 - t1, resources: Object.keys(template.Resources).length, templateBytes: JSON.stringify(template).length }));
`;

function runOnce(args: string[], cwd: string, env: NodeJS.ProcessEnv): Run {
  const started = performance.now();
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
  const wallMs = performance.now() - started;
  if (r.status !== 0) {
    // The first line is the minified bundle's source line: the error's own line says what happened.
    const why = /^\w*Error\b.*$/m.exec(r.stderr)?.[0] ?? r.stderr.slice(0, 300);
    throw new Error(`the synthesis process failed (${r.status}): ${why}`);
  }
  return { wallMs, ...(JSON.parse(r.stdout) as Omit<Run, 'wallMs'>) };
}

function medians(runs: Run[]): Run {
  return {
    wallMs: median(runs.map((r) => r.wallMs)),
    requireMs: median(runs.map((r) => r.requireMs)),
    synthMs: median(runs.map((r) => r.synthMs)),
    resources: runs[0].resources,
    templateBytes: runs[0].templateBytes,
  };
}

function main(): void {
  const work = mkdtempSync(join(tmpdir(), 'kinto-bench-env-synth-'));
  try {
    // 1. The bundle, in a folder of its own outside the repository (no node_modules up the tree).
    const bundleDir = join(work, 'bundle');
    const bundle = join(bundleDir, 'index.js');
    const built = buildSync({
      entryPoints: [join(ROOT, 'lib', 'synthesize-environment.ts')],
      bundle: true,
      minify: true,
      platform: 'node',
      format: 'cjs',
      target: 'node22',
      outfile: bundle,
      logLevel: 'error',
      metafile: true,
    });
    const raw = statSync(bundle).size;
    const gzipped = gzipSync(readFileSync(bundle), { level: 9 }).length;
    const inputs = Object.keys(built.metafile.inputs);
    const wasmSource = join(ROOT, 'node_modules', 'aws-cdk-lib', 'node_modules', '@aws', 'cloudformation-validate', WASM_NAME);
    const wasmBytes = existsSync(wasmSource) ? statSync(wasmSource).size : 0;
    const wasmLoader = inputs.find((i) => i.endsWith('cloudformation-validate/bindings_wasm.js'));

    const descriptions = new Map<number, string>();
    for (const n of SIZES) {
      const file = join(work, `environment-${n}.json`);
      writeFileSync(file, JSON.stringify(exampleEnvironment(manyBlocks(n))));
      descriptions.set(n, file);
    }
    const home = join(work, 'home');
    const env = plainEnv(home);
    const script = (validate: boolean, n: number, modulePath = bundle) => ['-e', childScript(modulePath, descriptions.get(n)!, validate)];

    // 2. Alone: validation off without the wasm file; validation on without it, then with it.
    const alone = runOnce(script(false, 1), bundleDir, env);
    let withoutWasm = 'ran';
    try {
      runOnce(script(true, 1), bundleDir, env);
    } catch (e) {
      withoutWasm = `fails: ${(e as Error).message.replace(/^the synthesis process failed \(\d+\): /, '').slice(0, 160)}`;
    }
    copyFileSync(wasmSource, join(bundleDir, WASM_NAME));
    const withWasm = runOnce(script(true, 1), bundleDir, env);
    rmSync(join(bundleDir, WASM_NAME));

    // 3. Synthesis times, each run a fresh process.
    const perRun: Record<string, Run[]> = {};
    const measure = (label: string, args: () => string[], cwd: string, runEnv: NodeJS.ProcessEnv) => {
      perRun[label] = [];
      for (let i = 0; i < RUNS; i++) perRun[label].push(runOnce(args(), cwd, runEnv));
    };
    for (const n of SIZES) measure(`bundle, ${n} block${n === 1 ? '' : 's'}`, () => script(false, n), bundleDir, env);
    // From the sources, as `npm run render-environment` runs (tsx transpiles on load).
    const tsxEnv = { ...env, NODE_OPTIONS: '--import tsx' };
    for (const n of SIZES) {
      measure(
        `sources (tsx), ${n} block${n === 1 ? '' : 's'}`,
        () => script(false, n, join(ROOT, 'lib', 'synthesize-environment.ts')),
        ROOT,
        tsxEnv,
      );
    }
    copyFileSync(wasmSource, join(bundleDir, WASM_NAME));
    measure('bundle + CloudFormation validation (wasm), 20 blocks', () => script(true, 20), bundleDir, env);

    const m = Object.fromEntries(Object.entries(perRun).map(([k, runs]) => [k, medians(runs)]));
    const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
    console.log(`\nBundle of lib/synthesize-environment.ts (esbuild ${readEsbuildVersion()}, platform node, cjs, minified, target node22)`);
    console.table({
      bundle: { raw: mb(raw), gzipped: mb(gzipped), modules: inputs.length },
      [`${WASM_NAME} (only with validation on)`]: {
        raw: mb(wasmBytes),
        gzipped: mb(gzipSync(readFileSync(wasmSource)).length),
        modules: '-',
      },
    });
    console.log('\nRunning the bundle alone (a folder with no node_modules)');
    console.table({
      'validation off (default), no wasm beside it': { result: `ran: ${alone.resources} resources` },
      'validation on, no wasm beside it': { result: withoutWasm },
      'validation on, wasm beside it': { result: `ran: ${withWasm.resources} resources` },
      'the bundle loads the wasm loader': { result: wasmLoader ? `yes (${wasmLoader.replace(/^.*node_modules\//, '')}, lazily)` : 'no' },
    });
    console.log(`\nSynthesis in a fresh node process, module loading included; median of ${RUNS} runs (ms)`);
    console.table(
      Object.fromEntries(
        Object.entries(m).map(([k, v]) => [
          k,
          {
            'wall (spawn to exit)': Math.round(v.wallMs),
            'require()': Math.round(v.requireMs),
            synth: Math.round(v.synthMs),
            resources: v.resources,
            'template KB': Math.round(v.templateBytes / 1024),
          },
        ]),
      ),
    );
    const checks = {
      'the bundle runs alone with validation off': alone.resources > 0,
      'with validation on it needs the wasm beside it (and runs with it)': withoutWasm !== 'ran' && withWasm.resources > 0,
    };
    console.table(Object.fromEntries(Object.entries(checks).map(([k, v]) => [k, v ? 'yes' : 'NO'])));
    saveResults('environment-synth', {
      runs: RUNS,
      bundle: { raw, gzipped, modules: inputs.length, wasmBytes },
      withoutWasm,
      perRun,
      medians: m,
      checks,
    });
    if (Object.values(checks).some((v) => !v)) process.exitCode = 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function readEsbuildVersion(): string {
  return (JSON.parse(readFileSync(join(dirname(require.resolve('esbuild')), '..', 'package.json'), 'utf8')) as { version: string }).version;
}

main();
