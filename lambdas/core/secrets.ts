import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { derivedKeys } from './auth/platform-keys';
import type { CoreContext } from './context';
import { KintoError } from './errors';
import type { SealedSecret } from './model';

/** Where a secret belongs: sealed for this environment, block and variable name only. */
export interface SecretScope {
  readonly envId: string;
  readonly blockId: string;
  readonly name: string;
}

const VERSION = 'v1';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

const aad = (s: SecretScope): Buffer => Buffer.from(`${s.envId}\0${s.blockId}\0${s.name}`, 'utf8');

async function keyOf(ctx: Pick<CoreContext, 'keys'>): Promise<Buffer> {
  if (!ctx.keys)
    throw new KintoError(503, 'KEYS_UNAVAILABLE', 'Secret variables need the platform key, which this installation does not have.');
  return (await derivedKeys(ctx.keys)).secretVariablesKey;
}

/** Seals a secret variable's value: AES-256-GCM with a fresh 96-bit nonce, bound to its scope. */
export async function sealSecret(ctx: Pick<CoreContext, 'keys'>, scope: SecretScope, value: string, at: string): Promise<SealedSecret> {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', await keyOf(ctx), nonce);
  cipher.setAAD(aad(scope));
  const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return { sealed: `${VERSION}.${nonce.toString('base64url')}.${body.toString('base64url')}`, updatedAt: at };
}

/** Opens a sealed value of `scope`; a value sealed for another scope or changed in the store does not open. */
export async function openSecret(ctx: Pick<CoreContext, 'keys'>, scope: SecretScope, secret: SealedSecret): Promise<string> {
  const [version, nonce, body] = secret.sealed.split('.');
  const bytes = Buffer.from(body ?? '', 'base64url');
  if (version !== VERSION || !nonce || bytes.length < TAG_BYTES) throw unreadable(scope);
  try {
    const decipher = createDecipheriv('aes-256-gcm', await keyOf(ctx), Buffer.from(nonce, 'base64url'));
    decipher.setAAD(aad(scope));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    throw unreadable(scope);
  }
}

/** Every secret of a block opened, for its runtime. */
export async function openSecrets(
  ctx: Pick<CoreContext, 'keys'>,
  envId: string,
  blockId: string,
  secrets: Readonly<Record<string, SealedSecret>> | undefined,
): Promise<Record<string, string> | undefined> {
  if (!secrets || Object.keys(secrets).length === 0) return undefined;
  const open: Record<string, string> = {};
  for (const [name, secret] of Object.entries(secrets)) open[name] = await openSecret(ctx, { envId, blockId, name }, secret);
  return open;
}

const unreadable = (s: SecretScope) =>
  new KintoError(
    409,
    'SECRET_UNREADABLE',
    `The secret variable ${s.name} cannot be opened with this platform's key (the key changed, or the value was copied from elsewhere); set it again.`,
  );
