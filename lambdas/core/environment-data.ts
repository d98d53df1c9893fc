import type { CoreContext } from './context';
import { KintoError } from './errors';

/** A custom service's data, as a deletion reports it. */
export interface EnvironmentData {
  readonly environment: string;
  /** The environment's id: what `DELETE /v1/kept-data/{environmentId}` takes once it is deleted. */
  readonly environmentId: string;
  readonly block: string;
  /** Where it is (locally a folder under KINTO_HOME). */
  readonly location: string;
}

/** What a deletion did with custom services' data: kept (the default) or deleted (asked for). */
export interface DataOutcome {
  readonly kept: readonly EnvironmentData[];
  readonly deleted: readonly EnvironmentData[];
}

export const NO_DATA: DataOutcome = { kept: [], deleted: [] };

/**
 * Keeps or deletes the custom services' data of a deleted (and stopped) environment. Data is never
 * deleted silently: without `deleteData` it stays where it is and the answer names it, so that
 * the caller can copy it, and delete it later (kept-data.ts).
 */
export async function settleEnvironmentData(
  ctx: CoreContext,
  env: { readonly id: string; readonly name: string },
  deleteData: boolean,
): Promise<DataOutcome> {
  const named = (list: readonly { block: string; location: string }[] | undefined) =>
    (list ?? []).map((d) => ({ environment: env.name, environmentId: env.id, block: d.block, location: d.location }));
  try {
    if (deleteData) return { kept: [], deleted: named(await ctx.runtime.deleteData?.(env.id)) };
    return { kept: named(await ctx.runtime.dataOf?.(env.id)), deleted: [] };
  } catch (e) {
    // Called once the environment is gone: the answer says so, and what is left to do.
    throw new DataSettlementError(`Environment "${env.name}" is deleted, but ${(e as Error).message}`);
  }
}

/** Naming or deleting a deleted environment's data failed (everything else about it is gone). */
export class DataSettlementError extends KintoError {
  constructor(message: string) {
    super(502, 'SERVICE_DATA_FAILED', message);
  }
}

export const mergeOutcomes = (outcomes: readonly DataOutcome[]): DataOutcome => ({
  kept: outcomes.flatMap((o) => o.kept),
  deleted: outcomes.flatMap((o) => o.deleted),
});
