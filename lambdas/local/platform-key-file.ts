import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIN_KEY_MATERIAL_BYTES } from '../core/auth/platform-keys';
import type { PlatformKeys } from '../ports/keys';

/** Where the local platform keeps its key, inside KINTO_HOME. */
export const PLATFORM_KEY_FILE = 'platform-key';

/**
 * The local platform key: 256 random bits generated on first start and kept in
 * `<home>/platform-key` (mode 0600), so client secrets and tokens survive restarts. Deleting the
 * file invalidates every client secret and token of this platform.
 */
export function loadOrCreatePlatformKey(home: string): PlatformKeys {
  const file = join(home, PLATFORM_KEY_FILE);
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8').trim();
    // Written 0600; tighten it if someone loosened it (the key opens every environment).
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (text === undefined) {
    mkdirSync(home, { recursive: true });
    text = randomBytes(32).toString('base64url');
    writeFileSync(file, `${text}\n`, { mode: 0o600, flag: 'wx' });
  }
  const material = Buffer.from(text, 'utf8');
  if (material.length < MIN_KEY_MATERIAL_BYTES) {
    throw new Error(
      `${file} holds ${material.length} bytes; it needs at least ${MIN_KEY_MATERIAL_BYTES}. Delete it to generate a new key (every client secret and token becomes invalid).`,
    );
  }
  return { material: async () => material };
}
