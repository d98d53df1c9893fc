import { execFile } from 'node:child_process';
import { realpath, stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import type { Writable } from 'node:stream';
import type { BlockSource } from '../../core/model';

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

/**
 * Fetches a block's source into `dir` at its branch (default: the remote's default branch) or
 * commit, and returns the commit sha and the block folder (`subfolder` confined to the checkout).
 * Every value reaches git as its own argument, after `--` where git would read options.
 */
export async function fetchSource(source: BlockSource, dir: string, log: Writable, baseEnv: Record<string, string>, timeoutMs: number): Promise<{ commit: string; blockDir: string }> {
  const env = { ...baseEnv, ...GIT_ENV };
  const git = (args: string[], cwd?: string) => runGit(args, { cwd, env, log, timeoutMs });
  if (source.commit) {
    await git(['clone', '--quiet', '--no-checkout', '--', source.repo, dir]);
    const sha = (await git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${source.commit}^{commit}`], dir).catch(() => '')).trim();
    if (!sha) throw new SourceError(`commit ${source.commit} does not exist in ${source.repo}`);
    await git(['-c', 'advice.detachedHead=false', 'checkout', '--quiet', '--detach', sha], dir);
  } else {
    const branchArgs = source.branch ? ['--branch', source.branch, '--single-branch'] : [];
    await git(['clone', '--quiet', '--depth', '1', ...branchArgs, '--', source.repo, dir]).catch((e: Error) => {
      if (source.branch && /Remote branch .* not found|not found in upstream/i.test(e.message)) {
        throw new SourceError(`branch "${source.branch}" does not exist in ${source.repo}`);
      }
      throw e;
    });
  }
  const commit = (await git(['rev-parse', 'HEAD'], dir)).trim();
  log.write(`[kinto] source at commit ${commit}\n`);
  return { commit, blockDir: await confine(dir, source.subfolder) };
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
  if (target !== root && !target.startsWith(root + sep)) throw new SourceError(`the sub-folder "${subfolder}" leads outside the repository`);
  if (!(await stat(target)).isDirectory()) throw new SourceError(`"${subfolder}" is not a folder`);
  return target;
}

function runGit(args: string[], o: { cwd?: string; env: Record<string, string>; log: Writable; timeoutMs: number }): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile('git', args, { cwd: o.cwd, env: o.env, timeout: o.timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (stderr) o.log.write(stderr);
      if (error) {
        const detail = (stderr || error.message).trim().split('\n').filter(Boolean).pop() ?? error.message;
        reject(new SourceError(`git ${args[0]} failed: ${detail}`));
      } else {
        resolvePromise(stdout);
      }
    });
  });
}
