import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { TestPlatform } from './platform';

/** The `kinto` that npm installs. */
export const KINTO_BIN = join(__dirname, '../../bin/kinto.js');

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The binary as a user runs it (stdin a pipe, not a terminal), against a test platform through
 * KINTO_URL/KINTO_TOKEN and no profile. `platform` is read at each call (it is made in `beforeAll`).
 */
export function cliAgainst(platform: () => TestPlatform, project: string) {
  const kinto = (args: string[], input = ''): Promise<CliRun> =>
    new Promise((resolve) => {
      const p = platform();
      const child = spawn(process.execPath, [KINTO_BIN, ...args], {
        env: { PATH: process.env.PATH, HOME: p.home, KINTO_URL: p.url, KINTO_TOKEN: p.adminToken, KINTO_PROJECT: project },
        stdio: ['pipe', 'pipe', 'pipe'],
        timeout: 30_000,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (status) => resolve({ status, stdout, stderr }));
      child.stdin.end(input);
    });
  /** `--json`, expected to succeed with nothing on stderr: the parsed answer. */
  const json = async (args: string[], input = ''): Promise<any> => {
    const r = await kinto([...args, '--json'], input);
    expect({ args, status: r.status, stderr: r.stderr }).toEqual({ args, status: 0, stderr: '' });
    return JSON.parse(r.stdout);
  };
  return { kinto, json };
}
