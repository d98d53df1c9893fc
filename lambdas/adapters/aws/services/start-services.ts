import type { ReaperSchedules } from './reaper-schedules';
import type { ServiceFleet } from './service-fleet';
import { ServiceWaker } from './wake-services';

/** How old a service's traffic record may get while a job keeps it awake (see `keepAwake`). */
export const KEEP_AWAKE_RECORD_MS = 15_000;

/** A custom service that does not run yet, as ECS describes it. */
export interface StartingService {
  /** `kinto-<12>-<block>`. */
  readonly name: string;
  /** This call woke it (its desired count was 0; it is 1 now). */
  readonly woken: boolean;
  readonly desiredCount: number;
  readonly runningCount: number;
  readonly pendingCount: number;
  /** ECS's newest event about it. */
  readonly lastEvent?: string;
}

/** Where an environment's custom services stand after `start`. */
export interface ServicesStart {
  /** ECS service names (`kinto-<12>-<block>`) with a task running. */
  readonly running: readonly string[];
  /** Those that do not run yet (just woken, or their task still starting). */
  readonly waiting: readonly StartingService[];
}

export interface ServiceStarterOptions {
  readonly fleet: ServiceFleet;
  readonly schedules: ReaperSchedules;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * Wakes an environment's custom services for a deployment's jobs, and says which run: the waker's
 * own steps (reaper schedule first unless always-on, desired count 1, traffic recorded at most once
 * a minute, which also keeps the reaper away while the deployment waits), asked afresh on every
 * call. A service runs when ECS counts a task of it in the RUNNING state; one just woken does not,
 * whatever ECS still counts (a task the reaper is stopping is RUNNING until it stops).
 */
export class ServiceStarter {
  private readonly waker: ServiceWaker;
  private readonly keeper: ServiceWaker;
  private readonly now: () => number;

  constructor(o: ServiceStarterOptions) {
    this.now = o.now ?? Date.now;
    this.waker = new ServiceWaker({ fleet: o.fleet, schedules: o.schedules, now: this.now });
    this.keeper = new ServiceWaker({ fleet: o.fleet, schedules: o.schedules, now: this.now, trafficRecordMs: KEEP_AWAKE_RECORD_MS });
  }

  /**
   * The environment's services are in use (a job runs): wakes any that sleeps and records their
   * traffic when its record is KEEP_AWAKE_RECORD_MS old, so that, called every 20 s, the reaper
   * (once a minute, idle times of at least 60 s) never finds one idle meanwhile.
   */
  async keepAwake(envId: string): Promise<void> {
    await this.keeper.wakeNow(envId, this.now());
  }

  async start(envId: string): Promise<ServicesStart> {
    const running: string[] = [];
    const waiting: StartingService[] = [];
    for (const { state, action } of await this.waker.wakeNow(envId, this.now())) {
      // DRAINING or INACTIVE: being deleted by a stack update, not one the jobs can use.
      if (state.status !== 'ACTIVE') continue;
      if (action !== 'woken' && state.desiredCount >= 1 && state.runningCount >= 1) {
        running.push(state.name);
        continue;
      }
      waiting.push({
        name: state.name,
        woken: action === 'woken',
        desiredCount: action === 'woken' ? 1 : state.desiredCount,
        runningCount: state.runningCount,
        pendingCount: state.pendingCount,
        ...(state.lastEvent ? { lastEvent: state.lastEvent } : {}),
      });
    }
    return { running, waiting };
  }
}
