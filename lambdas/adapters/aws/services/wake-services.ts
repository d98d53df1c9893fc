import type { ReaperSchedules } from './reaper-schedules';
import type { ServiceFleet, ServiceState } from './service-fleet';

/** What the waker did for one service. */
export type WakeAction =
  /** It slept (desired count 0): its reaper schedule was made, then its desired count set to 1. */
  | 'woken'
  /** Awake or starting: only the time of its newest traffic was recorded (at most once a minute). */
  | 'traffic-recorded'
  /** Awake or starting, traffic recorded less than a minute ago: nothing to do. */
  | 'awake'
  /** Being deleted (DRAINING or INACTIVE): left alone. */
  | 'inactive';

export interface WakeResult {
  readonly envId: string;
  readonly services: readonly { readonly name: string; readonly action: WakeAction }[];
  /** Nothing was asked of ECS: this instance checked every service of the environment moments ago. */
  readonly skipped?: 'recently-checked';
}

export interface ServiceWakerOptions {
  readonly fleet: ServiceFleet;
  readonly schedules: ReaperSchedules;
  /** @default Date.now */
  readonly now?: () => number;
  /** How long the list of an environment's services is reused. @default 60 s */
  readonly listTtlMs?: number;
  /**
   * How long after seeing every service awake (and its traffic recorded) this instance asks ECS
   * nothing: shorter than the shortest idle time on AWS (60 s), so a service the reaper stops in
   * the meantime is woken by the next batch after it. @default 10 s
   */
  readonly recheckMs?: number;
  /** A service's `kinto:last-traffic` is rewritten when it is at least this much older than new traffic. @default 60 s */
  readonly trafficRecordMs?: number;
}

interface Seen {
  arns: string[];
  listedAt: number;
  checkedAt: number;
  /** The traffic time this instance last recorded or saw recorded. */
  recordedUpTo: number;
}

/**
 * Wakes an environment's custom services when its functions are invoked (each `START` line of a
 * function's log group reaches it through a subscription filter). A sleeping service gets its
 * reaper schedule, then desired count 1 (in this order: a service awake without a reaper would run
 * and bill forever); a service that is awake or already starting (desired count 1, whatever runs)
 * is never updated again, only its newest traffic time is recorded, at most once a minute. Every
 * step is idempotent: a retried batch, or two instances at once, change nothing more.
 *
 * One instance per warm Lambda: it remembers each environment's services for a minute, and that
 * they were all awake for 10 s, so a busy environment costs one ECS call every 10 s at most.
 */
export class ServiceWaker {
  private readonly seen = new Map<string, Seen>();
  private readonly now: () => number;
  private readonly listTtlMs: number;
  private readonly recheckMs: number;
  private readonly trafficRecordMs: number;

  constructor(private readonly o: ServiceWakerOptions) {
    this.now = o.now ?? Date.now;
    this.listTtlMs = o.listTtlMs ?? 60_000;
    this.recheckMs = o.recheckMs ?? 10_000;
    this.trafficRecordMs = o.trafficRecordMs ?? 60_000;
  }

  /** The environment had traffic at `trafficAtMs` (epoch ms): its sleeping services wake. */
  async wake(envId: string, trafficAtMs: number): Promise<WakeResult> {
    const now = this.now();
    let seen = this.seen.get(envId);
    if (!seen || now - seen.listedAt >= this.listTtlMs) {
      seen = { arns: await this.o.fleet.list(envId), listedAt: now, checkedAt: 0, recordedUpTo: 0 };
      this.seen.set(envId, seen);
    }
    if (seen.arns.length === 0) return { envId, services: [] };
    if (now - seen.checkedAt < this.recheckMs && trafficAtMs - seen.recordedUpTo < this.trafficRecordMs) {
      return { envId, services: [], skipped: 'recently-checked' };
    }

    let woken: { state: ServiceState; action: WakeAction }[];
    try {
      woken = await this.wakeAll(envId, await this.o.fleet.describe(seen.arns), trafficAtMs);
    } catch (e) {
      this.seen.delete(envId);
      throw e;
    }
    seen.checkedAt = now;
    seen.recordedUpTo = Math.max(seen.recordedUpTo, trafficAtMs);
    return { envId, services: woken.map(({ state, action }) => ({ name: state.name, action })) };
  }

  /**
   * The same, without this instance's memory: the environment's services are listed and described
   * afresh (a deployment waiting for them needs ECS's word of now). Returns each service's state as
   * it was described, before anything was done, and what was done.
   */
  async wakeNow(envId: string, trafficAtMs: number): Promise<{ state: ServiceState; action: WakeAction }[]> {
    const arns = await this.o.fleet.list(envId);
    if (arns.length === 0) return [];
    return this.wakeAll(envId, await this.o.fleet.describe(arns), trafficAtMs);
  }

  private async wakeAll(
    envId: string,
    states: readonly ServiceState[],
    trafficAtMs: number,
  ): Promise<{ state: ServiceState; action: WakeAction }[]> {
    const woken: { state: ServiceState; action: WakeAction }[] = [];
    const failures: string[] = [];
    for (const state of states) {
      try {
        woken.push({ state, action: await this.wakeOne(state, trafficAtMs) });
      } catch (e) {
        failures.push(`${state.name}: ${(e as Error).name}: ${(e as Error).message}`);
      }
    }
    // A failure throws (the asynchronous invocation is retried, and every step is idempotent).
    if (failures.length > 0) throw new Error(`waking the services of environment ${envId} failed: ${failures.join('; ')}`);
    return woken;
  }

  private async wakeOne(state: ServiceState, trafficAtMs: number): Promise<WakeAction> {
    if (state.status !== 'ACTIVE') return 'inactive';
    if (state.desiredCount === 0) {
      if (!state.alwaysOn) await this.o.schedules.ensure(state);
      await this.o.fleet.setDesiredCount(state.arn, 1);
      await this.o.fleet.recordTraffic(state.arn, trafficAtMs);
      return 'woken';
    }
    if (state.lastTrafficMs !== undefined && trafficAtMs - state.lastTrafficMs < this.trafficRecordMs) return 'awake';
    // Each minute of traffic also makes sure the reaper still looks at the service (it may have
    // failed between its UpdateService and DeleteSchedule, or the schedule been deleted by hand).
    if (!state.alwaysOn) await this.o.schedules.ensure(state);
    await this.o.fleet.recordTraffic(state.arn, trafficAtMs);
    return 'traffic-recorded';
  }
}
