import { createHash, timingSafeEqual } from 'node:crypto';
import { unauthorized } from '../../core/errors';

/** Checks `Authorization: Bearer <admin token>`; a promise so the token may come from a secret store. */
export type AdminTokenSource = () => Promise<string> | string;

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * Compares the presented token with the admin token in constant time (both hashed first, so
 * lengths do not leak either).
 * @throws KintoError UNAUTHORIZED (401)
 */
export async function assertAdmin(authorization: string | undefined, source: AdminTokenSource): Promise<void> {
  const match = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
  if (!match) {
    throw unauthorized(
      'UNAUTHORIZED',
      'Send the admin token as "Authorization: Bearer <token>" (npm start prints it; on AWS it is in Secrets Manager, see the stack outputs).',
    );
  }
  const expected = await source();
  if (!timingSafeEqual(digest(match[1]), digest(expected))) {
    throw unauthorized(
      'UNAUTHORIZED',
      'The admin token is not valid. Use the token printed by npm start (or kept in KINTO_HOME/admin-token).',
    );
  }
}
