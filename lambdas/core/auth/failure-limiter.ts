export interface FailureLimiterOptions {
  /** Failures allowed per key within `windowMs`. @default 5 */
  readonly maxFailures?: number;
  /** @default 60000 */
  readonly windowMs?: number;
  /** Keys tracked at most (an attacker may invent client ids); the oldest goes first. @default 10000 */
  readonly maxKeys?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

interface Window {
  readonly start: number;
  failures: number;
}

/**
 * Counts failed attempts per key (e.g. per client id) in fixed windows: past `maxFailures`, every
 * attempt is refused until the window ends, right credentials included (otherwise guessing goes on).
 * In memory, per process: the local gateway's limit. On AWS the stage's throttling limits instead.
 */
export class FailureLimiter {
  private readonly windows = new Map<string, Window>();
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(options: FailureLimiterOptions = {}) {
    this.maxFailures = options.maxFailures ?? 5;
    this.windowMs = options.windowMs ?? 60_000;
    this.maxKeys = options.maxKeys ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** Seconds to wait before trying again; 0 when an attempt may go ahead. */
  retryAfterSeconds(key: string): number {
    const w = this.current(key);
    if (!w || w.failures < this.maxFailures) return 0;
    return Math.max(1, Math.ceil((w.start + this.windowMs - this.now()) / 1000));
  }

  failed(key: string): void {
    const w = this.current(key);
    if (w) {
      w.failures++;
      return;
    }
    if (this.windows.size >= this.maxKeys) this.windows.delete(this.windows.keys().next().value!);
    this.windows.set(key, { start: this.now(), failures: 1 });
  }

  succeeded(key: string): void {
    this.windows.delete(key);
  }

  private current(key: string): Window | undefined {
    const w = this.windows.get(key);
    if (w && w.start + this.windowMs <= this.now()) {
      this.windows.delete(key);
      return undefined;
    }
    return w;
  }
}
