import { nowIso, type CoreContext } from '../context';
import { conflict, notFound, unavailable } from '../errors';
import { requireEnvironment, requireProject } from '../lookups';
import type { Client, Environment } from '../model';
import { WriteConflictError, type ListOptions, type Page } from '../../ports/store';
import { hashClientSecret, newClientSecret } from './client-secrets';
import { derivedKeys, type DerivedKeys } from './platform-keys';

/** A client with its secret in clear: returned once, when created or rotated, never again. */
export interface IssuedClient {
  readonly client: Client;
  readonly secret: string;
}

/** Client ids are 128 random bits in hex (as KintoHub's were). */
export const CLIENT_ID_PATTERN = /^[0-9a-f]{32}$/;

/** The derived keys, or 503 when this platform was started without key material. */
export async function requireKeys(ctx: Pick<CoreContext, 'keys'>): Promise<DerivedKeys> {
  if (!ctx.keys)
    throw unavailable(
      'KEYS_NOT_CONFIGURED',
      'This platform has no key material configured, so it cannot issue client credentials or tokens. Ask its operator to configure the platform key.',
    );
  return derivedKeys(ctx.keys);
}

/**
 * Issues a new client for an environment (by id). Used for the first client when an environment
 * is created (before the environment item: children first) and by `createClient`.
 */
export async function issueClient(ctx: CoreContext, envId: string, name?: string): Promise<IssuedClient> {
  const keys = await requireKeys(ctx);
  const clientId = ctx.ids.randomId();
  const secret = newClientSecret();
  const at = nowIso(ctx);
  const client: Client = {
    envId,
    clientId,
    ...(name ? { name } : {}),
    secretHash: hashClientSecret(keys.clientSecretKey, clientId, secret),
    generation: 1,
    rev: 1,
    createdAt: at,
    updatedAt: at,
  };
  await ctx.store.clients.create(client);
  return { client, secret };
}

/** `POST .../environments/{env}/clients`: one more client (e.g. one per app calling the environment). */
export async function createClient(
  ctx: CoreContext,
  projectName: string,
  envName: string,
  input: { name?: string } = {},
): Promise<IssuedClient> {
  const env = await requireEnvironment(ctx, await requireProject(ctx, projectName), envName);
  return issueClient(ctx, env.id, input.name);
}

export async function listClients(
  ctx: CoreContext,
  projectName: string,
  envName: string,
  options: ListOptions = {},
): Promise<Page<Client>> {
  const env = await requireEnvironment(ctx, await requireProject(ctx, projectName), envName);
  return ctx.store.clients.list({ envId: env.id }, options);
}

export async function getClient(ctx: CoreContext, projectName: string, envName: string, clientId: string): Promise<Client> {
  const env = await requireEnvironment(ctx, await requireProject(ctx, projectName), envName);
  return requireClient(ctx, env, clientId);
}

/**
 * Gives a client a new secret. Its previous secret stops working at once, and so do the tokens
 * issued before: they carry the old `generation`. The write is conditional on the revision read.
 */
export async function rotateClientSecret(ctx: CoreContext, projectName: string, envName: string, clientId: string): Promise<IssuedClient> {
  const env = await requireEnvironment(ctx, await requireProject(ctx, projectName), envName);
  const keys = await requireKeys(ctx);
  const current = await requireClient(ctx, env, clientId);
  const secret = newClientSecret();
  const at = nowIso(ctx);
  let client: Client;
  try {
    client = await ctx.store.clients.update({
      ...current,
      secretHash: hashClientSecret(keys.clientSecretKey, current.clientId, secret),
      generation: current.generation + 1,
      rotatedAt: at,
      updatedAt: at,
    });
  } catch (e) {
    if (e instanceof WriteConflictError) {
      throw conflict(
        'CONCURRENT_UPDATE',
        `Client ${clientId} of "${env.name}" was rotated or revoked while this request ran; list the clients and retry.`,
      );
    }
    throw e;
  }
  await ctx.onClientChange?.(env.id, clientId);
  return { client, secret };
}

/** Revokes a client: its secret and every token issued to it stop working. */
export async function revokeClient(ctx: CoreContext, projectName: string, envName: string, clientId: string): Promise<void> {
  const env = await requireEnvironment(ctx, await requireProject(ctx, projectName), envName);
  await requireClient(ctx, env, clientId);
  await ctx.store.clients.remove({ envId: env.id, clientId });
  await ctx.onClientChange?.(env.id, clientId);
}

async function requireClient(ctx: CoreContext, env: Environment, clientId: string): Promise<Client> {
  const client = CLIENT_ID_PATTERN.test(clientId) ? await ctx.store.clients.get({ envId: env.id, clientId }) : undefined;
  if (!client) {
    throw notFound(
      'CLIENT_NOT_FOUND',
      `Environment "${env.name}" has no client "${clientId.slice(0, 64)}". List its clients with GET .../environments/${env.name}/clients.`,
    );
  }
  return client;
}
