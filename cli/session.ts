import type { Command } from 'commander';
import { createKintoClient, type KintoClient } from '../client/kinto-client';
import { CliError } from './errors';
import { configPath, profileName, readConfig, updateConfig, type CliConfig, type Profile, type StoredClient } from './config/profiles';

/** Options every command accepts (declared on the root program). */
export interface GlobalOptions {
  readonly profile?: string;
  readonly project?: string;
}

/** Where a command talks to: the platform's URL, its admin token, and the typed API client. */
export interface Connection {
  readonly url: string;
  readonly token: string;
  readonly api: KintoClient;
}

/**
 * What a command runs with: the chosen profile (or KINTO_URL/KINTO_TOKEN, which override it), the
 * project, and the client credentials the CLI keeps. Read lazily: `kinto login` and `--help`
 * work without a config.
 */
export class Session {
  private config?: CliConfig;
  private conn?: Connection;

  constructor(readonly options: GlobalOptions) {}

  /** The session of a command's action (its options merged with the root program's). */
  static of(command: Command): Session {
    return new Session(command.optsWithGlobals<GlobalOptions>());
  }

  get profileName(): string {
    return profileName(this.readConfig(), this.options.profile);
  }

  get profile(): Profile | undefined {
    return this.readConfig().profiles[this.profileName];
  }

  connection(): Connection {
    if (this.conn) return this.conn;
    const profile = this.profile;
    const url = process.env.KINTO_URL || profile?.url;
    const token = process.env.KINTO_TOKEN || profile?.token;
    if (!url || !token) {
      throw new CliError(
        'NOT_LOGGED_IN',
        `no platform for profile "${this.profileName}": run kinto login (the local platform) or kinto login --url <url> --token <token>, or set KINTO_URL and KINTO_TOKEN`,
      );
    }
    const baseUrl = url.replace(/\/+$/, '');
    this.conn = { url: baseUrl, token, api: createKintoClient({ baseUrl, token, fetch: reachable(baseUrl) }) };
    return this.conn;
  }

  /** The project: --project, else KINTO_PROJECT, else the profile's (kinto projects use). */
  project(): string {
    const project = this.options.project || process.env.KINTO_PROJECT || this.profile?.project;
    if (!project) {
      throw new CliError('NO_PROJECT', 'no project chosen: pass --project <name>, set KINTO_PROJECT, or run kinto projects use <name>');
    }
    return project;
  }

  storedClient(envId: string): StoredClient | undefined {
    return this.profile?.clients?.[envId];
  }

  /** Keeps a client's secret in the profile, for `kinto call`. */
  rememberClient(envId: string, client: StoredClient): void {
    this.changeProfile((p) => (p.clients = { ...p.clients, [envId]: client }));
  }

  forgetClient(envId: string): void {
    this.changeProfile((p) => {
      if (p.clients) delete p.clients[envId];
    });
  }

  /** Changes the profile in use and writes the config (nothing when the profile is not saved). */
  changeProfile(change: (profile: Profile) => void): void {
    const name = this.profileName;
    this.config = updateConfig((config) => {
      const profile = config.profiles[name];
      if (profile) change(profile);
    });
  }

  get configPath(): string {
    return configPath();
  }

  private readConfig(): CliConfig {
    return (this.config ??= readConfig());
  }
}

/** fetch, failing with one line naming the URL when the platform cannot be reached. */
function reachable(url: string): typeof fetch {
  return async (input, init) => {
    try {
      return await fetch(input, init);
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      if (e instanceof TypeError && cause) {
        throw new CliError('UNREACHABLE', `cannot reach ${url} (${cause.code ?? cause.message}): is the platform running (kinto dev)?`);
      }
      throw e;
    }
  };
}
