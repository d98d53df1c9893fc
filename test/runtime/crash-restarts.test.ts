import { CrashRestarts } from '../../lambdas/adapters/local/runtime/crash-restarts';

describe('CrashRestarts (always-on custom services)', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('restarts after a crash, doubling the delay for crashes in a row up to 30 s, and starts over after a minute of running', () => {
    let now = 0;
    const restart = jest.fn();
    const restarts = new CrashRestarts(restart, () => now);
    const crash = () => restarts.after({ type: 'exit', code: 1, crashed: true });

    restarts.after({ type: 'ready' });
    expect([crash(), crash(), crash(), crash(), crash(), crash(), crash()]).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
    // Only the newest crash's restart is pending.
    jest.advanceTimersByTime(29_999);
    expect(restart).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(restart).toHaveBeenCalledTimes(1);

    now = 100_000;
    restarts.after({ type: 'ready' });
    now = 160_000;
    expect(crash()).toBe(1000);
  });

  it('keeps doubling while the service fails to start at all (it never ran a minute)', () => {
    let now = 0;
    const restarts = new CrashRestarts(jest.fn(), () => now);
    const delays = [];
    for (let i = 0; i < 4; i++) {
      now += 120_000;
      delays.push(restarts.after({ type: 'start-failed', reason: 'exited with code 1 before it opened port 6379' }));
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000]);
  });

  it('ignores a stop it was told to make, and other events', () => {
    const restart = jest.fn();
    const restarts = new CrashRestarts(restart);
    expect(restarts.after({ type: 'exit', code: 0 })).toBeUndefined();
    expect(restarts.after({ type: 'idle-stop' })).toBeUndefined();
    jest.runAllTimers();
    expect(restart).not.toHaveBeenCalled();
  });
});
