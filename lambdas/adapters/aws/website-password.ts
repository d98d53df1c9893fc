import { createHash, timingSafeEqual } from 'node:crypto';
import { parseBasic } from '../../core/auth/basic-auth';
import { verifyPassword } from '../../core/passwords';
import type { BasicAuthStageValue } from './basic-auth-stage-value';

const MAX_HEADER = 1024;
const REMEMBER_MS = 600_000;
const MAX_REMEMBERED = 1000;
const sha256 = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * The authorizer's check of a password-protected website's `Authorization: Basic` header. A
 * browser sends the same header with every request and scrypt takes ~50 ms, so successes are
 * remembered (keyed by a hash of scope, configured hash and header: a new password changes the
 * key) for 10 minutes. Lean on purpose: the authorizer's bundle is kept small for its cold start
 * (the local gateway's BasicAuthChecker adds per-address limits; on AWS the stage's throttling
 * bounds guesses).
 */
export function websitePasswordCheck(now: () => number = Date.now) {
  const passed = new Map<string, number>();
  return async (header: string | undefined, value: BasicAuthStageValue, scope: string): Promise<boolean> => {
    if (!header || header.length > MAX_HEADER) return false;
    const key = sha256(`${scope}\0${value.passwordHash}\0${header}`).toString('base64url');
    if ((passed.get(key) ?? 0) > now()) return true;
    const credentials = parseBasic(header);
    if (!credentials) return false;
    const userOk = timingSafeEqual(sha256(credentials.username), sha256(value.username));
    const passwordOk = await verifyPassword(credentials.password, value.passwordHash);
    if (!userOk || !passwordOk) return false;
    if (passed.size >= MAX_REMEMBERED) passed.clear();
    passed.set(key, now() + REMEMBER_MS);
    return true;
  };
}
