import type { Builder } from '../ports/builder';
import type { Clock, IdGenerator } from '../ports/clock';
import type { Deployer } from '../ports/deployer';
import type { PlatformKeys } from '../ports/keys';
import type { Runtime } from '../ports/runtime';
import type { Store } from '../ports/store';

/** The ports the core acts through. Handlers build one per process and pass it to every call. */
export interface CoreContext {
  readonly store: Store;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly runtime: Runtime;
  readonly builder: Builder;
  /** Carries out deployments after the request that recorded them has been answered. */
  readonly deployer: Deployer;
  /**
   * The platform's key material (client secrets, tokens). Without it no client credentials can be
   * issued: creating an environment then creates no first client, and client routes answer 503.
   */
  readonly keys?: PlatformKeys;
  /**
   * Told when a client is rotated or revoked, so that caches of its verified tokens drop them at
   * once; the change is answered only after it settles.
   */
  readonly onClientChange?: (envId: string, clientId: string) => void | Promise<void>;
}

export const nowIso = (ctx: Pick<CoreContext, 'clock'>): string => ctx.clock.now().toISOString();
