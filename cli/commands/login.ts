import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { createKintoClient } from '../../client/kinto-client';
import { action, withExamples, withJson } from '../command';
import { page } from '../api/calls';
import { profileName, readConfig, updateConfig } from '../config/profiles';
import { CliError } from '../errors';
import { readSecret } from '../output/prompt';
import { print, printJson } from '../output/print';
import { table } from '../output/table';

/** `kinto login`, `kinto logout`, `kinto profiles`: which platforms the CLI talks to, kept in ~/.config/kinto/config.json. */
export function registerLogin(program: Command): void {
  withExamples(
    program
      .command('login')
      .description('Save a platform (URL and admin token) as a profile; alone, logs in to the local platform (.kinto/admin-token)')
      .option('--url <url>', 'the platform URL (e.g. http://localhost:4000, or the ControlApiUrl output on AWS)')
      .option('--token <token>', 'the admin token ("-" reads it from stdin; without --token it is asked for)'),
    [
      'kinto login                                    # the local platform (npm start), reading .kinto/admin-token',
      'kinto login --url https://abc.execute-api.eu-west-1.amazonaws.com --token - < token.txt',
      'kinto --profile aws login --url "$API_URL" --token "$TOKEN"',
    ],
  ).action(
    action<{ url?: string; token?: string }>(async ({ session, opts }) => {
      let { url, token } = opts;
      if (!url && !token) ({ url, token } = localPlatform());
      if (!url) throw new CliError('MISSING_URL', 'pass --url <platform URL> with --token');
      if (!token || token === '-') token = await readSecret('Admin token');
      url = url.replace(/\/+$/, '');
      // Check the token before keeping it: a wrong one is a 401 here, not on the next command.
      await page(createKintoClient({ baseUrl: url, token }).GET('/v1/projects', { params: { query: { limit: '1' } } }));
      const name = session.profileName;
      const saved = { url, token };
      updateConfig((config) => {
        const old = config.profiles[name];
        config.profiles[name] = old?.url === url ? { ...old, ...saved } : saved;
        config.currentProfile = name;
      });
      print(`Logged in to ${url} (profile "${name}", saved in ${session.configPath})`);
    }),
  );

  withExamples(program.command('logout').description('Forget the profile (its token and stored client secrets)'), [
    'kinto logout',
    'kinto --profile aws logout',
  ]).action(
    action(async ({ session }) => {
      const name = session.profileName;
      updateConfig((config) => {
        if (!config.profiles[name]) throw new CliError('PROFILE_NOT_FOUND', `there is no profile "${name}"`);
        delete config.profiles[name];
        if (config.currentProfile === name) delete config.currentProfile;
      });
      print(`Logged out: profile "${name}" removed.`);
    }),
  );

  withExamples(withJson(program.command('profiles').description('List the saved profiles (the current one is marked *)')), [
    'kinto profiles',
  ]).action(
    action<{ json?: boolean }>(async ({ session, opts }) => {
      const config = readConfig();
      const current = profileName(config, session.options.profile);
      const rows = Object.entries(config.profiles).map(([name, p]) => ({
        name,
        current: name === current,
        url: p.url,
        project: p.project ?? null,
      }));
      if (opts.json) return printJson(rows);
      print(
        table(
          ['', 'PROFILE', 'URL', 'PROJECT'],
          rows.map((r) => [r.current ? '*' : ' ', r.name, r.url, r.project]),
        ),
      );
    }),
  );
}

/** The platform `npm start` runs here: its URL and the token it keeps in KINTO_HOME (default ./.kinto). */
function localPlatform(): { url: string; token: string } {
  const url = `http://localhost:${process.env.KINTO_PORT || 4000}`;
  if (process.env.KINTO_ADMIN_TOKEN) return { url, token: process.env.KINTO_ADMIN_TOKEN };
  const file = join(resolve(process.env.KINTO_HOME || '.kinto'), 'admin-token');
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch {
    throw new CliError(
      'NO_LOCAL_PLATFORM',
      `no admin token at ${file}: start the platform here with kinto dev (npm start), or pass --url and --token`,
    );
  }
  return { url, token };
}
