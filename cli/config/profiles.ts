import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError } from '../errors';

/** A client of an environment whose secret the CLI keeps, so that `kinto call` can get tokens. */
export interface StoredClient {
  readonly project: string;
  readonly env: string;
  readonly clientId: string;
  readonly secret: string;
}

/** One platform the CLI talks to: its URL and admin token, and what the CLI remembers about it. */
export interface Profile {
  url: string;
  token: string;
  /** The project commands use when neither --project nor KINTO_PROJECT names one. */
  project?: string;
  /** Stored client credentials, by environment id (names can be reused after a delete). */
  clients?: Record<string, StoredClient>;
}

/** `~/.config/kinto/config.json` (mode 0600: it holds admin tokens and client secrets). */
export interface CliConfig {
  currentProfile?: string;
  profiles: Record<string, Profile>;
}

/** Where the config lives: `$XDG_CONFIG_HOME/kinto/config.json`, by default `~/.config/kinto/config.json`. */
export function configPath(): string {
  return join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'kinto', 'config.json');
}

export function readConfig(path = configPath()): CliConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { profiles: {} };
    throw e;
  }
  try {
    const parsed = JSON.parse(text) as Partial<CliConfig>;
    return { ...parsed, profiles: parsed.profiles ?? {} };
  } catch {
    throw new CliError('CONFIG_INVALID', `${path} is not valid JSON: fix it or delete it and run kinto login again`);
  }
}

/**
 * Writes the config whole: to a temp file created 0600 and renamed over the old one, so that a
 * crash never leaves half a file and the tokens are never readable by others, not even briefly.
 */
export function writeConfig(config: CliConfig, path = configPath()): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, path);
}

/** Reads, changes and writes the config back (the CLI runs one command per process: no lock needed). */
export function updateConfig(change: (config: CliConfig) => void, path = configPath()): CliConfig {
  const config = readConfig(path);
  change(config);
  writeConfig(config, path);
  return config;
}

/** The profile a command uses: `--profile`, else KINTO_PROFILE, else the current one, else "default". */
export function profileName(config: CliConfig, option?: string): string {
  return option || process.env.KINTO_PROFILE || config.currentProfile || 'default';
}
