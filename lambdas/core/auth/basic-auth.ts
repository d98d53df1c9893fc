import { createHash, timingSafeEqual } from 'node:crypto';
import type { BasicAuth } from '../model';
import { verifyPassword } from '../passwords';
import { FailureLimiter, type FailureLimiterOptions } from './failure-limiter';

export interface BasicAuthCheckerOptions {
  /** How long a successful check is remembered. @default 600000 (10 minutes) */
  readonly ttlMs?: number;
  /** @default 1000 */
  readonly maxEntries?: number;
  /**
   * scrypt runs at most this many distinct checks at a time (each takes ~50 ms of CPU and 16 MB);
   * past it, a new password is answered `busy` (to retry shortly), so a flood of guesses cannot
   * take the machine. @default 16
   */
  readonly maxPending?: number;
  /** Wrong passwords allowed per client and website. @default 10 per minute */
  readonly limiter?: FailureLimiterOptions;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Longest `Authorization` value looked at. */
const MAX_HEADER = 1024;

const sha256 = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * Not checked, for now: `throttled` after too many wrong passwords from this client, `busy` while
 * too many checks run. Neither says anything about the password: answer 429 / 503 with
 * `Retry-After`, never a 401.
 */
export interface BasicAuthRefusal {
  readonly reason: 'throttled' | 'busy';
  readonly retryAfterSeconds: number;
}

/** true: the configured credentials; false: other ones (or none); a refusal: not checked now. */
export type BasicAuthVerdict = boolean | BasicAuthRefusal;

const BUSY: BasicAuthRefusal = { reason: 'busy', retryAfterSeconds: 1 };

/**
 * Checks HTTP basic auth against a website's configured username and scrypt password hash.
 * scrypt is slow on purpose (~50 ms), and a browser sends the same header with every request, so
 * successful checks are remembered, keyed by a hash of (scope, configured hash, presented header):
 * a new password or a redeploy with other config changes the key, so nothing stale is reused.
 * Concurrent checks of the same header share one scrypt run. Failures are never remembered.
 * Given the client (e.g. its address), wrong passwords are counted per client and scope, as
 * `/authorize` counts them per client id: past the limit, new passwords from it are not checked
 * until the window ends. A remembered success is answered before any limit, so a flood of guesses
 * never locks out a browser that already signed in.
 */
export class BasicAuthChecker {
  private readonly passed = new Map<string, number>();
  private readonly pending = new Map<string, Promise<boolean>>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly maxPending: number;
  private readonly now: () => number;
  private readonly limiter: FailureLimiter;

  constructor(options: BasicAuthCheckerOptions = {}) {
    this.ttlMs = options.ttlMs ?? 600_000;
    this.maxEntries = options.maxEntries ?? 1000;
    this.maxPending = options.maxPending ?? 16;
    this.now = options.now ?? Date.now;
    this.limiter = new FailureLimiter({ maxFailures: 10, now: this.now, ...options.limiter });
  }

  /** Checks `header` against `config`; synchronous when remembered or refused without scrypt. */
  check(header: string | undefined, config: BasicAuth, scope: string, client?: string): BasicAuthVerdict | Promise<BasicAuthVerdict> {
    if (!header || header.length > MAX_HEADER) return false;
    const key = createHash('sha256')
      .update(scope)
      .update('\0')
      .update(config.username)
      .update('\0')
      .update(config.passwordHash)
      .update('\0')
      .update(header)
      .digest('base64url');
    const until = this.passed.get(key);
    if (until !== undefined) {
      if (until > this.now()) return true;
      this.passed.delete(key);
    }
    const credentials = parseBasic(header);
    if (!credentials) return false;
    const running = this.pending.get(key);
    if (running) return running;
    const limitKey = client === undefined ? undefined : `${scope}\0${client}`;
    if (limitKey !== undefined) {
      const wait = this.limiter.retryAfterSeconds(limitKey);
      if (wait > 0) return { reason: 'throttled', retryAfterSeconds: wait };
    }
    if (this.pending.size >= this.maxPending) return BUSY;
    // Counted as a failure until it passes, so guesses sent all at once count too.
    if (limitKey !== undefined) this.limiter.failed(limitKey);
    const started = this.verify(credentials, config).then(
      (ok) => {
        this.pending.delete(key);
        if (ok) {
          if (limitKey !== undefined) this.limiter.succeeded(limitKey);
          if (this.passed.size >= this.maxEntries) this.passed.delete(this.passed.keys().next().value!);
          this.passed.set(key, this.now() + this.ttlMs);
        }
        return ok;
      },
      (e) => {
        this.pending.delete(key);
        throw e;
      },
    );
    this.pending.set(key, started);
    return started;
  }

  private async verify(credentials: { username: string; password: string }, config: BasicAuth): Promise<boolean> {
    // Both checks run whatever the first says, so timing does not tell a right username apart.
    const userOk = timingSafeEqual(sha256(credentials.username), sha256(config.username));
    const passwordOk = await verifyPassword(credentials.password, config.passwordHash);
    return userOk && passwordOk;
  }
}

/** `Basic base64(user:password)` -> its parts; undefined when it is not that. */
export function parseBasic(header: string): { username: string; password: string } | undefined {
  const match = /^basic[ \t]+([A-Za-z0-9+/=]+)[ \t]*$/i.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 1) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
