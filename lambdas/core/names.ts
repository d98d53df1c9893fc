import { badRequest } from './errors';

/** Longest project, block or environment name: they become parts of URLs and AWS resource names. */
export const MAX_NAME_LENGTH = 32;

const NAME_PATTERN = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

/** Block names that would shadow a gateway route of the platform. */
const RESERVED_BLOCK_NAMES = new Set(['authorize', 'health', 'kinto']);

/** Whether a gateway path segment belongs to the platform (e.g. `authorize`) rather than to a block. */
export const isReservedBlockName = (name: string): boolean => RESERVED_BLOCK_NAMES.has(name);

export type NameKind = 'project' | 'block' | 'environment';

/**
 * Checks an internal name: lower-case letters, digits and single hyphens, starting with a letter.
 * @throws KintoError INVALID_NAME (400) saying what is wrong and a name that would be accepted.
 */
export function assertName(kind: NameKind, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw badRequest('INVALID_NAME', `The ${kind} name is required: use lower-case letters, digits and hyphens, e.g. "my-${kind}".`);
  }
  if (value.length > MAX_NAME_LENGTH) {
    throw badRequest('INVALID_NAME', `The ${kind} name is ${value.length} characters long; use at most ${MAX_NAME_LENGTH}.`);
  }
  if (!NAME_PATTERN.test(value)) {
    const hint = suggestName(value);
    throw badRequest(
      'INVALID_NAME',
      `The ${kind} name ${JSON.stringify(value)} is not valid: use lower-case letters, digits and single hyphens, starting with a letter` +
        (hint ? ` (e.g. "${hint}").` : '.'),
    );
  }
  if (kind === 'block' && RESERVED_BLOCK_NAMES.has(value)) {
    throw badRequest('INVALID_NAME', `The block name "${value}" is reserved by the gateway; choose another, e.g. "${value}-service".`);
  }
  return value;
}

function suggestName(value: string): string | undefined {
  const candidate = value
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .replace(/-+$/, '')
    .slice(0, MAX_NAME_LENGTH)
    .replace(/-+$/, '');
  return NAME_PATTERN.test(candidate) ? candidate : undefined;
}
