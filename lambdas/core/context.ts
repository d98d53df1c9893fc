import type { Builder } from '../ports/builder';
import type { Clock, IdGenerator } from '../ports/clock';
import type { Runtime } from '../ports/runtime';
import type { Store } from '../ports/store';

/** The ports the core acts through. Handlers build one per process and pass it to every call. */
export interface CoreContext {
  readonly store: Store;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly runtime: Runtime;
  readonly builder: Builder;
}

export const nowIso = (ctx: Pick<CoreContext, 'clock'>): string => ctx.clock.now().toISOString();
