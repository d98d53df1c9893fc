import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The local admin token: `KINTO_ADMIN_TOKEN` when set, else the one kept in
 * `<home>/admin-token` (mode 0600), generated on first start.
 */
export function loadOrCreateAdminToken(home: string, fromEnv: string | undefined): { token: string; source: 'env' | 'file' | 'generated' } {
  if (fromEnv) {
    if (fromEnv.length < 16) throw new Error('KINTO_ADMIN_TOKEN must be at least 16 characters long.');
    return { token: fromEnv, source: 'env' };
  }
  const file = join(home, 'admin-token');
  try {
    const token = readFileSync(file, 'utf8').trim();
    if (token.length >= 16) return { token, source: 'file' };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  mkdirSync(home, { recursive: true });
  const token = `kinto_${randomBytes(24).toString('base64url')}`;
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return { token, source: 'generated' };
}
