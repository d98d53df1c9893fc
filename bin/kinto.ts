#!/usr/bin/env -S npx tsx
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerCommands, unknownCommand } from '../cli/program';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// `npm start` passes node two V8 flags that keep the gateway's hot path fast after the process
// goes quiet (`--no-memory-reducer`) and under many object shapes; why: bench/README.md, "Node flags".

const program = new Command().name('kinto').description('Kinto: git repos to running, secured, observable, serverless endpoints.');

program
  .command('dev', { isDefault: true })
  .description('Run the whole Kinto platform on this machine (settings: KINTO_PORT, KINTO_HOME, KINTO_ADMIN_TOKEN, KINTO_IDLE_TIMEOUT_MS)')
  .addHelpText(
    'after',
    '\nExamples:\n  $ kinto dev                                   # = npm start\n  $ KINTO_PORT=4100 KINTO_HOME=/tmp/kinto kinto dev\n',
  )
  .action(async () => {
    // Loaded here, not at the top: the other commands only talk to a platform, and loading it costs
    // about a second. require, not import(): esbuild-register transpiles what require loads.
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { readSettings } = require('../lambdas/local/settings') as typeof import('../lambdas/local/settings');
    const { startLocalPlatform } = require('../lambdas/local/local-platform') as typeof import('../lambdas/local/local-platform');
    /* eslint-enable @typescript-eslint/no-require-imports */
    // `npm start` builds the console first; `kinto dev` run directly does the same (a stat walk when it is current).
    spawnSync(process.execPath, ['-r', 'esbuild-register', join(__dirname, '..', 'console', 'ensure-built.ts')], { stdio: 'inherit' });
    const settings = readSettings();
    const platform = await startLocalPlatform(settings);
    const tokenNote = platform.adminTokenSource === 'env' ? 'from KINTO_ADMIN_TOKEN' : `kept in ${platform.home}/admin-token`;
    process.stdout.write(
      [
        `Kinto is running at ${platform.url}`,
        `  console:     ${platform.url}/  (sign in with the admin token)`,
        `  admin token: ${platform.adminToken}  (${tokenNote})`,
        `  control API: ${platform.url}/v1  (described at ${platform.url}/v1/openapi.json)`,
        `  data:        ${platform.home}`,
        `  isolation:   ${isolation(platform.sandbox)}`,
        `Try: curl -H "Authorization: Bearer ${platform.adminToken}" ${platform.url}/v1/projects`,
        '',
      ].join('\n'),
    );
    if (platform.sandbox.warning) process.stderr.write(`WARNING: ${platform.sandbox.warning}\n`);
    let stoppingSince = 0;
    const stop = (signal: string) => {
      // Ctrl-C reaches node twice (from the terminal, and forwarded by npm): only a later one forces.
      if (stoppingSince) {
        if (Date.now() - stoppingSince < 2000) return;
        process.stdout.write(`${signal} again: exiting without waiting for blocks to stop.\n`);
        process.exit(1);
      }
      stoppingSince = Date.now();
      process.stdout.write(`\n${signal}: stopping Kinto...\n`);
      platform.close().then(
        () => {
          process.stdout.write('Kinto stopped.\n');
          process.exit(0);
        },
        (e) => {
          console.error(e);
          process.exit(1);
        },
      );
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });

function isolation(sandbox: { mode: string; uids: boolean; nft?: string }): string {
  if (sandbox.mode === 'none') return 'none: builds, blocks and jobs run as this user (see the warning below)';
  return `bubblewrap${sandbox.uids ? ', one unprivileged user per block' : ''}${sandbox.nft ? ', block ports closed to other blocks' : ''}`;
}

registerCommands(program);
const unknown = unknownCommand(program, process.argv.slice(2));
if (unknown && unknown !== 'help') {
  console.error(`kinto: UNKNOWN_COMMAND: there is no command "${unknown}" (kinto --help lists them)`);
  process.exit(1);
}

program.parseAsync().catch((e: Error) => {
  console.error(`kinto: ${e.message}`);
  process.exit(1);
});
