import { join, resolve } from 'node:path';
import type { SandboxSetting } from '../adapters/local/runtime/sandbox';

/** Settings of the local platform, from environment variables. */
export interface LocalSettings {
  /** `KINTO_PORT`, default 4000 (0 picks a free port). */
  readonly port: number;
  /** `KINTO_HOST`, default 127.0.0.1: the platform listens on loopback only unless told otherwise. */
  readonly host: string;
  /** `KINTO_HOME`, default `./.kinto`: dynalite data, builds, block logs, the admin token. */
  readonly home: string;
  /** `KINTO_ADMIN_TOKEN`: used when set, else generated once and kept in `KINTO_HOME`. */
  readonly adminToken?: string;
  /** `KINTO_IDLE_TIMEOUT_MS`, default 30000: how long a block process may sit idle before it stops. */
  readonly idleTimeoutMs: number;
  /** `KINTO_START_TIMEOUT_MS`, default 15000: how long a block may take to open its port. */
  readonly startTimeoutMs: number;
  /** `KINTO_SANDBOX`, default `auto`: bubblewrap when it works here; `bwrap` requires it; `off`. */
  readonly sandbox?: SandboxSetting;
}

export function readSettings(env: NodeJS.ProcessEnv = process.env): LocalSettings {
  return {
    port: integer(env, 'KINTO_PORT', 4000, 0, 65535),
    host: env.KINTO_HOST || '127.0.0.1',
    home: resolve(env.KINTO_HOME || '.kinto'),
    adminToken: env.KINTO_ADMIN_TOKEN || undefined,
    idleTimeoutMs: integer(env, 'KINTO_IDLE_TIMEOUT_MS', 30_000, 100, 24 * 3600_000),
    startTimeoutMs: integer(env, 'KINTO_START_TIMEOUT_MS', 15_000, 100, 600_000),
    sandbox: oneOf(env, 'KINTO_SANDBOX', ['auto', 'bwrap', 'off'] as const, 'auto'),
  };
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(raw)}).`);
  }
  return value;
}

function oneOf<T extends string>(env: NodeJS.ProcessEnv, name: string, values: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(values as readonly string[]).includes(raw))
    throw new Error(`${name} must be one of ${values.join(', ')} (got ${JSON.stringify(raw)}).`);
  return raw as T;
}

/** Where custom services keep their data: `<KINTO_HOME>/data/<env id>/<block>` (see service-data.ts). */
export const serviceDataRoot = (home: string): string => join(home, 'data');

/** The platform's URL as users call it, once it listens on `port`. */
export const platformBaseUrl = (host: string, port: number): string =>
  `http://${host === '127.0.0.1' || host === '0.0.0.0' ? 'localhost' : host}:${port}`;
