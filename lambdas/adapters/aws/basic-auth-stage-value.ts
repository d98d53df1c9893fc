/**
 * The stage variable that holds a password-protected website's username and scrypt hash:
 * `kintoBasicAuth_<block, hyphens as underscores>`. One variable per website because API Gateway
 * allows stage variable values of at most 512 characters from `[A-Za-z0-9-._~:/?#&=,]` only:
 * neither JSON nor a scrypt hash (`$`) fits as it is, and one variable for all websites would hold
 * two or three at most.
 */
export const basicAuthStageVariable = (block: string): string => `kintoBasicAuth_${block.replace(/-/g, '_')}`;

/** What a password-protected website's stage variable carries, before encoding. */
export interface BasicAuthStageValue {
  readonly username: string;
  readonly passwordHash: string;
  /** `protected`: a valid Kinto-Authorization token is needed as well as the password. */
  readonly visibility: 'public' | 'protected';
}

/** base64url of the JSON of `value`: only characters a stage variable may hold. */
export const encodeBasicAuthStageValue = (value: BasicAuthStageValue): string =>
  Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

/** The inverse of `encodeBasicAuthStageValue`; undefined for anything else. */
export function decodeBasicAuthStageValue(encoded: string | undefined): BasicAuthStageValue | undefined {
  if (!encoded) return undefined;
  try {
    const v = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as Partial<BasicAuthStageValue>;
    if (typeof v.username !== 'string' || typeof v.passwordHash !== 'string' || (v.visibility !== 'public' && v.visibility !== 'protected'))
      return undefined;
    return { username: v.username, passwordHash: v.passwordHash, visibility: v.visibility };
  } catch {
    return undefined;
  }
}

/** The block a route key names: `ANY /web`, `ANY /web/{proxy+}` -> `web`. */
export function blockOfRouteKey(routeKey: string | undefined): string | undefined {
  return /^[A-Z]+ \/([a-z][a-z0-9-]*)(?:\/|$)/.exec(routeKey ?? '')?.[1];
}
