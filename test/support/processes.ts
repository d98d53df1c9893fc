import { readdirSync, readFileSync } from 'node:fs';

/**
 * Host pids of the processes (named `comm`, e.g. node) whose environment holds every `env` pair.
 * Blocks run in PID namespaces of their own, so the pid they see is not the host's: tests find
 * them this way (as root, /proc/<pid>/environ of every process is readable).
 */
export function hostPids(env: Record<string, string>, comm = 'node'): number[] {
  const wanted = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/comm`, 'utf8').trim() !== comm) continue;
      const environ = readFileSync(`/proc/${name}/environ`, 'utf8').split('\0');
      if (wanted.every((w) => environ.includes(w)) && !isZombie(Number(name))) found.push(Number(name));
    } catch {
      /* gone, or not readable */
    }
  }
  return found;
}

/** A live process (a killed one lingers as a zombie until it is reaped). */
export function alive(pid: number): boolean {
  try {
    return !isZombie(pid);
  } catch {
    return false;
  }
}

function isZombie(pid: number): boolean {
  return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

/**
 * Host pids of the processes named `comm` below any of `roots` (e.g. a sandbox's bubblewrap, found
 * with `hostPids(env, 'bwrap')`): for programs that overwrite their environment, as Redis does
 * when it sets its process title.
 */
export function descendantPids(roots: readonly number[], comm: string): number[] {
  const parentOf = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parentOf.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  const below = (pid: number): boolean => {
    for (let p = parentOf.get(pid); p !== undefined && p > 1; p = parentOf.get(p)) if (roots.includes(p)) return true;
    return false;
  };
  return [...parentOf.keys()].filter((pid) => {
    try {
      return below(pid) && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm && !isZombie(pid);
    } catch {
      return false;
    }
  });
}
