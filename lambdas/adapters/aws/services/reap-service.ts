import type { ReaperSchedules } from './reaper-schedules';
import { serviceNameOfArn, type ServiceFleet } from './service-fleet';

/** What the reaper found and did. */
export type ReapOutcome =
  /** The service is deleted or being deleted: its schedule was removed. */
  | 'gone'
  /** `alwaysOn`: never put to sleep; its schedule was removed. */
  | 'always-on'
  /** Already asleep (desired count 0): its schedule was removed. */
  | 'asleep'
  /** No traffic was ever recorded on it (its tags were reset): counting starts now. */
  | 'counting'
  /** Traffic within its idle time: left running. */
  | 'awake'
  /** Idle for its idle time: desired count set to 0, then its schedule removed. */
  | 'put-to-sleep';

export interface ReapOptions {
  readonly fleet: ServiceFleet;
  readonly schedules: ReaperSchedules;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * The reaper's one look at a service (its schedule runs it every minute while the service is
 * awake): sets the desired count to 0 once no traffic has been recorded for the service's idle
 * time, and removes its own schedule when there is nothing left to watch. Never touches an
 * `alwaysOn` service's count. Idempotent: a second run after any outcome changes nothing more.
 */
export async function reapService(serviceArn: string, o: ReapOptions): Promise<ReapOutcome> {
  const now = (o.now ?? Date.now)();
  const name = serviceNameOfArn(serviceArn);
  const [state] = await o.fleet.describe([serviceArn]);
  if (!state || state.status !== 'ACTIVE') {
    await o.schedules.remove(name);
    return 'gone';
  }
  if (state.alwaysOn) {
    await o.schedules.remove(name);
    return 'always-on';
  }
  if (state.desiredCount === 0) {
    await o.schedules.remove(name);
    return 'asleep';
  }
  if (state.lastTrafficMs === undefined) {
    // Never stop a service on a missing fact: start its idle time now.
    await o.fleet.recordTraffic(serviceArn, now);
    return 'counting';
  }
  if (now - state.lastTrafficMs < state.idleSeconds * 1000) return 'awake';
  // Count first: if the schedule's removal fails, the next run finds it asleep and removes it.
  await o.fleet.setDesiredCount(serviceArn, 0);
  await o.schedules.remove(name);
  return 'put-to-sleep';
}
