import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Remembers the process groups the platform starts (block processes, builds, jobs) as files in
 * `<home>/run/`, so that a platform that was killed (SIGKILL, power loss) can stop what it left
 * running when it starts again. A record holds the pid and the kernel's start time of the process:
 * a pid the system has since given to another program is never touched. Without /proc (not Linux)
 * start times cannot be checked, and leftovers are only reported.
 */
export class ProcessTracker {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  /** Records a process group leader; returns the function that forgets it (call it on exit). */
  track(pid: number | undefined, what: string): () => void {
    if (!pid) return () => undefined;
    const file = join(this.dir, `${pid}.json`);
    try {
      writeFileSync(file, JSON.stringify({ pid, started: startTimeOf(pid), what }));
    } catch {
      return () => undefined;
    }
    return () => rmSync(file, { force: true });
  }

  /** Kills the process groups a previous run left behind; returns how many it stopped. */
  killLeftovers(warn: (line: string) => void = console.warn): number {
    let killed = 0;
    for (const name of readdirSync(this.dir).filter((n) => n.endsWith('.json'))) {
      const file = join(this.dir, name);
      try {
        const { pid, started, what } = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; started?: string; what: string };
        const now = startTimeOf(pid);
        if (now !== undefined && started !== undefined && now === started) {
          process.kill(-pid, 'SIGKILL');
          killed++;
        } else if (now === undefined && started === undefined && isAlive(pid)) {
          warn(
            JSON.stringify({
              level: 'warn',
              message: 'a process from the previous run may still be running (cannot verify it here)',
              pid,
              what,
            }),
          );
        }
      } catch {
        /* gone already, or not ours to read */
      }
      rmSync(file, { force: true });
    }
    if (killed > 0)
      warn(
        JSON.stringify({
          level: 'warn',
          message: 'stopped processes left running by the previous run (it did not shut down cleanly)',
          count: killed,
        }),
      );
    return killed;
  }
}

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
