import { badRequest } from './errors';

/** A release version: `MAJOR.MINOR.REVISION`, each a whole number without leading zeros. */
export interface ReleaseVersion {
  readonly major: number;
  readonly minor: number;
  readonly revision: number;
}

const VERSION_PATTERN = /^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})$/;

/**
 * Parses `MAJOR.MINOR.REVISION` (each part 0..999999).
 * @throws KintoError INVALID_VERSION (400)
 */
export function parseReleaseVersion(value: unknown): ReleaseVersion {
  const match = typeof value === 'string' ? VERSION_PATTERN.exec(value) : null;
  if (!match) {
    const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : String(typeof value);
    throw badRequest(
      'INVALID_VERSION',
      `The release version ${shown} is not valid: use MAJOR.MINOR.REVISION with whole numbers, e.g. "1.0.0".`,
    );
  }
  return { major: Number(match[1]), minor: Number(match[2]), revision: Number(match[3]) };
}

export const formatReleaseVersion = (v: ReleaseVersion): string => `${v.major}.${v.minor}.${v.revision}`;

/** A string that sorts releases by version (for store sort keys). */
export const releaseSortKey = (v: ReleaseVersion): string =>
  [v.major, v.minor, v.revision].map((n) => String(n).padStart(6, '0')).join('.');

export const compareReleaseVersions = (a: ReleaseVersion, b: ReleaseVersion): number =>
  a.major - b.major || a.minor - b.minor || a.revision - b.revision;
