import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Internal entry keys. Blocks of an environment reach each other (internal blocks included)
 * through `KINTO_BLOCK_<NAME>_URL`, which points at the environment's gateway under
 * `/_internal/<key>/<block>`. The key is HMAC(platform internal-entry key, environment id):
 * - it lives in the URL, so block code calls `fetch(process.env.KINTO_BLOCK_USERS_URL + '/x')`
 *   with no header to add and no token to fetch;
 * - it is per environment: a block of env A holds no key that opens env B;
 * - it is derived, not stored: nothing to create, migrate or leak from the database; it changes
 *   only with the platform key.
 * The gateway drops it from the path before logging or forwarding, so blocks never see it.
 */
export function internalEntryKeyOf(internalEntryKey: Buffer, envId: string): string {
  return createHmac('sha256', internalEntryKey).update(envId, 'utf8').digest('base64url');
}

/** Constant-time check of a presented internal entry key. */
export function internalEntryKeyMatches(internalEntryKey: Buffer, envId: string, presented: string): boolean {
  const expected = Buffer.from(internalEntryKeyOf(internalEntryKey, envId), 'utf8');
  const given = Buffer.from(presented, 'utf8');
  // The length is public (43 characters); only the content must not leak through timing.
  return given.length === expected.length && timingSafeEqual(expected, given);
}

/** `users-api` -> `KINTO_BLOCK_USERS_API_URL`. Block names are lower-case letters, digits and single hyphens. */
export const blockUrlVariable = (blockName: string): string => `KINTO_BLOCK_${blockName.toUpperCase().replace(/-/g, '_')}_URL`;
