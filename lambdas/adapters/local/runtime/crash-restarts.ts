import type { BlockEvent } from './block-env';

/** A service that ran this long before crashing starts again after the shortest delay. */
const STABLE_MS = 60_000;
const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 30_000;

/**
 * Starts an always-on custom service again after it crashes or fails to start: nothing else would
 * (no connection comes to wake it when nobody uses it). Delays double with each crash in a row (1 s up to 30 s),
 * so a service that cannot run does not spin; a run of a minute starts the count again.
 */
export class CrashRestarts {
  private crashesInARow = 0;
  private readyAt = 0;
  private timer?: NodeJS.Timeout;

  /** @param restart starts the service (it checks that the service is still the one to serve) */
  constructor(
    private readonly restart: () => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Sees one of the service's events; on a crash (or a failed start), schedules the restart and returns its delay. */
  after(event: BlockEvent): number | undefined {
    if (event.type === 'ready') this.readyAt = this.now();
    const crashed = (event.type === 'exit' && event.crashed) || event.type === 'start-failed';
    if (!crashed) return undefined;
    // A crash after a minute of running starts the count again; a failed start never does.
    if (event.type === 'exit' && this.readyAt > 0 && this.now() - this.readyAt >= STABLE_MS) this.crashesInARow = 0;
    this.readyAt = 0;
    const delayMs = Math.min(FIRST_DELAY_MS * 2 ** this.crashesInARow, MAX_DELAY_MS);
    this.crashesInARow++;
    clearTimeout(this.timer);
    this.timer = setTimeout(this.restart, delayMs);
    this.timer.unref();
    return delayMs;
  }
}
