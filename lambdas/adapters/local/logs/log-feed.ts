import type { AccessFacts } from './access-line-writer';
import type { IndexSummary, InstanceLineRecord } from '../../../core/logs/log-records';
import type { BlockEvent, BlockMeta } from '../runtime/local-runtime';

export type InstanceListener = (lines: readonly InstanceLineRecord[]) => void;

/**
 * Where the local platform sends what its gateway and blocks produce, to be indexed: in-process
 * (`QueuedLogFeed`) or in a worker thread (`startLogWorker`). The hooks must be cheap: they run on
 * the request path.
 */
export interface LogFeed {
  /** Gateway hook: one call per request, with facts the gateway refills for the next one (copy what you keep). */
  readonly access: (facts: AccessFacts) => void;
  /** Runtime hook: one call per line a block writes. */
  readonly line: (meta: BlockMeta, text: string, stream: 'stdout' | 'stderr') => void;
  /** Runtime hook: block lifecycle (start, ready, exit, idle stop, jobs). */
  readonly event: (meta: BlockMeta, ev: BlockEvent) => void;
  /** Instance lines of one block as they are stored (the local follow stream). Returns unsubscribe. */
  subscribe(envId: string, block: string, listener: InstanceListener): () => void;
  /** Indexes and stores everything received so far. */
  flush(): Promise<void>;
  /** Stops taking entries and stores what is queued. */
  close(): Promise<void>;
  /** Counts since start: queued, indexed, shed (buffer full), lost (store failing), waiting now. */
  stats(): Promise<LogFeedStats>;
}

export interface LogFeedStats {
  readonly queued: number;
  readonly indexed: number;
  readonly shed: number;
  readonly lost: number;
  readonly batches: number;
  readonly waiting: number;
  readonly summary: IndexSummary;
}
