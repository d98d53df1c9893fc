import { realpath, stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import type { Writable } from 'node:stream';
import type { BlockSource } from '../../../core/model';
import type { Sandbox } from '../runtime/sandbox';

/** Transports git may use: never `ext::` or other helpers that run commands. */
const GIT_ENV = {
  GIT_TERMINAL_PROMPT: '0',
  GIT_ALLOW_PROTOCOL: 'file:git:http:https:ssh',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_ASKPASS: '/bin/false',
  SSH_ASKPASS: '/bin/false',
  GIT_SSH_COMMAND: 'ssh -o BatchMode=yes',
};

export class SourceError extends Error {}

export interface FetchOptions {
  readonly log: Writable;
  readonly env: Record<string, string>;
  readonly timeoutMs: number;
  /** git runs here as the platform's user, seeing only the source (when local) and `dir`. */
  readonly sandbox: Sandbox;
  /** KINTO_HOME: a source inside it (another build's checkout, the state) is refused. */
  readonly home: string;
}

/**
 * Fetches a block's source into `dir` (an empty folder) at its branch (default: the remote's
 * default branch) or commit, and returns the commit sha and the block folder (`subfolder` confined
 * to the checkout). Every value reaches git as its own argument, after `--` where git would read
 * options.
 */
export async function fetchSource(source: BlockSource, dir: string, o: FetchOptions): Promise<{ commit: string; blockDir: string }> {
  const local = await localSourcePath(source.repo, o.home);
  const env = { ...o.env, ...GIT_ENV };
  const git = (args: string[], cwd = dir) => runGit(args, { cwd, env, o, readable: local ? [local] : [], dir });
  if (source.commit) {
    await git(['clone', '--quiet', '--no-checkout', '--', source.repo, dir]);
    const sha = (await git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${source.commit}^{commit}`]).catch(() => '')).trim();
    if (!sha) throw new SourceError(`commit ${source.commit} does not exist in ${source.repo}`);
    await git(['-c', 'advice.detachedHead=false', 'checkout', '--quiet', '--detach', sha]);
  } else {
    const branchArgs = source.branch ? ['--branch', source.branch, '--single-branch'] : [];
    await git(['clone', '--quiet', '--depth', '1', ...branchArgs, '--', source.repo, dir]).catch((e: Error) => {
      if (source.branch && /Remote branch .* not found|not found in upstream/i.test(e.message)) {
        throw new SourceError(`branch "${source.branch}" does not exist in ${source.repo}`);
      }
      throw e;
    });
  }
  const commit = (await git(['rev-parse', 'HEAD'])).trim();
  o.log.write(`[kinto] source at commit ${commit}\n`);
  return { commit, blockDir: await confine(dir, source.subfolder) };
}

/** A local repository's real folder (absolute path or file:// URL); never one inside KINTO_HOME. */
async function localSourcePath(repo: string, home: string): Promise<string | undefined> {
  let path: string | undefined;
  if (repo.startsWith('/')) path = repo;
  else if (repo.startsWith('file://')) path = decodeURIComponent(new URL(repo).pathname);
  if (!path) return undefined;
  const real = await realpath(path).catch(() => undefined);
  if (!real) return undefined; // git says it is missing, as for any source
  const realHome = await realpath(home).catch(() => home);
  if (real === realHome || real.startsWith(realHome + sep) || realHome.startsWith(real + sep)) {
    throw new SourceError(
      `the repository ${repo} is inside (or holds) the platform's folder KINTO_HOME, which builds may not read; push the code to a repository of its own`,
    );
  }
  return real;
}

/** The block folder inside the checkout; symlinks may not lead out of it. */
async function confine(dir: string, subfolder: string | undefined): Promise<string> {
  const root = await realpath(dir);
  if (!subfolder) return root;
  let target: string;
  try {
    target = await realpath(resolve(root, subfolder));
  } catch {
    throw new SourceError(`the sub-folder "${subfolder}" does not exist at this commit`);
  }
  if (target !== root && !target.startsWith(root + sep))
    throw new SourceError(`the sub-folder "${subfolder}" leads outside the repository`);
  if (!(await stat(target)).isDirectory()) throw new SourceError(`"${subfolder}" is not a folder`);
  return target;
}

const MAX_OUTPUT = 16 * 1024 * 1024;

function runGit(
  args: string[],
  r: { cwd: string; env: Record<string, string>; o: FetchOptions; readable: string[]; dir: string },
): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const proc = r.o.sandbox.spawn({
      argv: ['git', ...args],
      cwd: r.cwd,
      env: r.env,
      identity: null,
      readable: r.readable,
      writable: [r.dir],
    });
    let stdout = '';
    let stderr = '';
    proc.child.stdout!.on('data', (c: Buffer) => stdout.length < MAX_OUTPUT && (stdout += c.toString('utf8')));
    proc.child.stderr!.on('data', (c: Buffer) => stderr.length < MAX_OUTPUT && (stderr += c.toString('utf8')));
    const timer = setTimeout(() => proc.kill(), r.o.timeoutMs);
    let spawnError: Error | undefined;
    proc.child.on('error', (e) => (spawnError = e));
    proc.child.on('close', (code) => {
      clearTimeout(timer);
      if (stderr) r.o.log.write(stderr);
      if (code === 0 && !spawnError) return resolvePromise(stdout);
      const detail = (stderr || spawnError?.message || `exit code ${code}`).trim().split('\n').filter(Boolean).pop() ?? `exit code ${code}`;
      reject(new SourceError(`git ${args[0]} failed: ${detail.replace(/^bwrap: /, '')}`));
    });
  });
}
