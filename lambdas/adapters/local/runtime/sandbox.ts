import { execFile, spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { dirname, sep } from 'node:path';
import type { PortGuard } from './port-guard';

/**
 * How user code (builds, blocks, jobs) is kept from the platform's rights:
 * - `bwrap`: each process tree runs in bubblewrap with its own PID namespace and a file system of
 *   the system's read-only folders plus only the paths it needs; as root, also as an unprivileged
 *   uid of its own block;
 * - `none`: as the platform's own user (no bubblewrap here, or `KINTO_SANDBOX=off`).
 */
export type SandboxMode = 'bwrap' | 'none';

/** What `detectSandbox` found; plain data, so it crosses to the data plane's thread. */
export interface SandboxConfig {
  readonly mode: SandboxMode;
  /** The platform runs as root: bubblewrap binds as root, and user code drops to a uid of its own. */
  readonly asRoot: boolean;
  /** Runs each block's processes as an unprivileged uid of its own (root with setpriv). */
  readonly uids: boolean;
  /** `setpriv --pdeathsig`: a sandbox dies with the thread that started it, even on SIGKILL. */
  readonly setpriv?: string;
  readonly bwrap?: string;
  /** nftables, for keeping sandboxes off each other's ports (root only). */
  readonly nft?: string;
  /** The system's folders, bound read-only in every sandbox, and the links to recreate (merged /usr). */
  readonly systemBinds: readonly string[];
  readonly systemLinks: readonly (readonly [target: string, path: string])[];
  /** Why processes are not isolated, for the start-up message. */
  readonly warning?: string;
}

/** `KINTO_SANDBOX`: `auto` (bubblewrap when it works here), `bwrap` (required), `off`. */
export type SandboxSetting = 'auto' | 'bwrap' | 'off';

/** First uid of sandboxed blocks (2^24 of them): far above login users and subordinate-uid ranges. */
export const SANDBOX_UID_BASE = 0x50000000;
export const SANDBOX_UID_COUNT = 0x1000000;
export const SANDBOX_UIDS: readonly [number, number] = [SANDBOX_UID_BASE, SANDBOX_UID_BASE + SANDBOX_UID_COUNT - 1];
/**
 * First gid of environments (2^24 of them): a block's processes run as its own uid and as its
 * environment's gid, so that the port guard can admit one environment's sandboxes to its custom
 * services (a block deployed to two environments has one uid, but two gids).
 */
export const SANDBOX_GID_BASE = 0x51000000;

const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/opt', '/run/systemd/resolve'];

/** A command to run confined. */
export interface ConfinedCommand {
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly env: Record<string, string>;
  /**
   * Whose code it is (a block id): processes of one identity share one unprivileged uid. `null`:
   * the platform's own tools (git), run as the platform's user without capabilities, seeing only
   * the paths given (and the user's git and ssh settings).
   */
  readonly identity: string | null;
  /** The environment it runs for (an environment id): its gid, which admits it to that environment's custom services. */
  readonly group?: string;
  /** Paths bound read-write (at the same path). */
  readonly writable?: readonly string[];
  /** Paths bound read-only (at the same path). */
  readonly readable?: readonly string[];
  /** The loopback port the process will listen on: only the platform and this identity may connect to it. */
  readonly listenPort?: number;
  readonly stdio?: 'pipe' | 'ignore-out';
}

/**
 * Finds out how user code can be isolated on this machine: bubblewrap is tried once, as it will
 * be run (as an unprivileged uid when the platform is root), so a kernel without user namespaces
 * is found at start, not at the first build.
 */
export async function detectSandbox(setting: SandboxSetting, home: string, env: NodeJS.ProcessEnv = process.env): Promise<SandboxConfig> {
  const isRoot = process.getuid?.() === 0;
  const { systemBinds, systemLinks } = systemFolders(home, env.PATH ?? '', env.HOME, isRoot);
  const setpriv = findOnPath('setpriv', env.PATH);
  const none = (warning?: string): SandboxConfig => ({
    mode: 'none',
    asRoot: isRoot,
    uids: false,
    ...(setpriv ? { setpriv } : {}),
    systemBinds,
    systemLinks,
    ...(warning ? { warning } : {}),
  });
  if (setting === 'off')
    return none(
      "KINTO_SANDBOX=off: builds, blocks and jobs run as the platform's own user and can read KINTO_HOME (the platform key, the admin token, the state).",
    );
  const bwrap = findOnPath('bwrap', env.PATH);
  const nft = isRoot ? findOnPath('nft', env.PATH) : undefined;
  const config: SandboxConfig = {
    mode: 'bwrap',
    asRoot: isRoot,
    uids: isRoot && !!setpriv,
    bwrap,
    ...(setpriv ? { setpriv } : {}),
    ...(nft ? { nft } : {}),
    systemBinds,
    systemLinks,
  };
  const problem = bwrap ? await probe(config) : 'bubblewrap (bwrap) is not installed';
  if (!problem) return config;
  const why = `${problem}: builds, blocks and jobs run as the platform's own user and can read KINTO_HOME (the platform key, the admin token, the state). Install bubblewrap (e.g. apt-get install bubblewrap) to isolate them.`;
  if (setting === 'bwrap') throw new Error(`KINTO_SANDBOX=bwrap, but ${why}`);
  return none(why);
}

/** Runs user code as `SandboxConfig` says. One per thread that starts processes. */
export class Sandbox {
  constructor(
    readonly config: SandboxConfig,
    private readonly ports?: PortGuard,
  ) {}

  /**
   * The unprivileged uid and gid of an identity's processes (root platforms only): the uid is the
   * identity's, the gid its group's (environment's) when it has one, else the uid.
   */
  idsOf(identity: string | null, group?: string): { uid: number; gid: number } | undefined {
    if (!this.config.uids || identity === null) return undefined;
    const uid = SANDBOX_UID_BASE + hashOf(identity);
    return { uid, gid: group === undefined ? uid : this.gidOf(group)! };
  }

  /** The gid of a group's (an environment's) sandboxed processes (root platforms only). */
  gidOf(group: string): number | undefined {
    return this.config.uids ? SANDBOX_GID_BASE + hashOf(group) : undefined;
  }

  /** Gives a folder (recursively) to an identity's uid, so its sandboxed processes may write it. */
  async own(path: string, identity: string, group?: string): Promise<void> {
    const ids = this.idsOf(identity, group);
    if (!ids) return;
    await new Promise<void>((resolve, reject) =>
      execFile('chown', ['-R', '-h', `${ids.uid}:${ids.gid}`, '--', path], (e, _out, stderr) =>
        e ? reject(new Error(`chown ${path}: ${stderr || e.message}`)) : resolve(),
      ),
    );
  }

  spawn(command: ConfinedCommand): SandboxedProcess {
    const [program, ...args] = command.argv;
    if (!program) throw new Error('empty command');
    const ids = this.idsOf(command.identity, command.group);
    const out: StdioOptions = command.stdio === 'ignore-out' ? ['ignore', 'ignore', 'ignore'] : ['ignore', 'pipe', 'pipe'];
    if (this.config.mode === 'none') {
      const child = spawn(...this.withPdeathsig(program, args), { cwd: command.cwd, env: command.env, stdio: out, detached: true });
      return new SandboxedProcess(child, 'none');
    }
    const env = command.identity === null ? { ...command.env, TMPDIR: '/tmp' } : { ...command.env, HOME: '/tmp', TMPDIR: '/tmp' };
    // As root, bubblewrap binds with root's rights; inside, setpriv drops to the block's own uid for good.
    const dropTo = ids
      ? [
          this.config.setpriv!,
          `--reuid=${ids.uid}`,
          `--regid=${ids.gid}`,
          '--clear-groups',
          '--inh-caps=-all',
          '--bounding-set=-all',
          '--no-new-privs',
          '--',
        ]
      : [];
    // fds 4 and 5: the account files with the block's uid and gid in them (below).
    const accounts = ids
      ? ['--perms', '0644', '--ro-bind-data', '4', '/etc/passwd', '--perms', '0644', '--ro-bind-data', '5', '/etc/group']
      : [];
    const bwrapArgs = [...this.bwrapArgs(command, !ids), ...accounts, '--info-fd', '3', '--', ...dropTo, program, ...args];
    const guardIds = ids && command.listenPort !== undefined ? { ...ids, port: command.listenPort } : undefined;
    if (guardIds) this.ports?.allow(guardIds.uid, guardIds.gid, guardIds.port);
    const child = spawn(...this.withPdeathsig(this.config.bwrap!, bwrapArgs), {
      cwd: '/',
      env,
      stdio: [...(out as unknown[]), 'pipe', ...(ids ? ['pipe', 'pipe'] : [])] as StdioOptions,
      detached: true,
    });
    if (ids) {
      // A uid with no account breaks programs that look their user up (PostgreSQL's initdb, ssh, whoami).
      const [passwd, group] = accountFiles(ids);
      for (const [fd, text] of [
        [4, passwd],
        [5, group],
      ] as const) {
        const stream = (child.stdio as unknown as (NodeJS.WritableStream | null)[])[fd];
        stream?.on('error', () => undefined);
        stream?.end(text);
      }
    }
    const proc = new SandboxedProcess(child, 'bwrap');
    if (guardIds) child.once('exit', () => this.ports?.forget(guardIds.uid, guardIds.gid, guardIds.port));
    return proc;
  }

  /**
   * `port` is a platform port for one group's (environment's) sandboxes only: other sandboxes are
   * refused (custom services' addresses). Without uids (not root) every process may connect.
   */
  admitGroup(group: string, port: number): void {
    const gid = this.gidOf(group);
    if (gid !== undefined) this.ports?.admit(gid, port);
  }

  /** The port is given back (see `admitGroup`). */
  dismissGroup(group: string, port: number): void {
    const gid = this.gidOf(group);
    if (gid !== undefined) this.ports?.dismiss(gid, port);
  }

  /** Resolves once the port rules asked for so far are in place. */
  portsSettled(): Promise<void> {
    return this.ports?.settled() ?? Promise.resolve();
  }

  closePorts(): void {
    this.ports?.close();
  }

  private withPdeathsig(program: string, args: readonly string[]): [string, string[]] {
    return this.config.setpriv ? [this.config.setpriv, ['--pdeathsig', 'KILL', '--', program, ...args]] : [program, [...args]];
  }

  private isSystem(dir: string): boolean {
    return dir === '/tmp' || this.config.systemBinds.some((b) => dir === b || dir.startsWith(b + sep));
  }

  private bwrapArgs(command: ConfinedCommand, dropCaps: boolean): string[] {
    const args = [
      ...(this.config.asRoot ? [] : ['--unshare-user']),
      '--unshare-pid',
      '--unshare-ipc',
      '--unshare-uts',
      '--unshare-cgroup-try',
      '--die-with-parent',
      '--new-session',
      '--hostname',
      'kinto-block',
    ];
    for (const path of this.config.systemBinds) args.push('--ro-bind', path, path);
    for (const [target, path] of this.config.systemLinks) args.push('--symlink', target, path);
    args.push('--proc', '/proc', '--dev', '/dev', '--perms', '1777', '--tmpfs', '/tmp');
    if (this.config.asRoot && dropCaps) args.push('--cap-drop', 'ALL');
    if (command.identity === null) {
      const home = command.env.HOME;
      if (home) for (const own of ['.ssh', '.gitconfig', '.config/git']) args.push('--ro-bind-try', `${home}/${own}`, `${home}/${own}`);
    }
    // The folders above a bound path would copy the host's modes (KINTO_HOME is 0700): make them searchable.
    const made = new Set<string>();
    for (const path of [...(command.readable ?? []), ...(command.writable ?? [])]) {
      const above: string[] = [];
      for (let d = dirname(path); d !== '/' && !made.has(d) && !this.isSystem(d); d = dirname(d)) above.unshift(d);
      for (const d of above) {
        args.push('--perms', '0755', '--dir', d);
        made.add(d);
      }
    }
    for (const path of command.readable ?? []) args.push('--ro-bind', path, path);
    for (const path of command.writable ?? []) args.push('--bind', path, path);
    args.push('--chdir', command.cwd);
    return args;
  }
}

/**
 * A confined process tree. Stopping signals everything the command started (in bubblewrap: its
 * whole PID namespace, forked and `setsid` children included), not just the first process.
 */
export class SandboxedProcess {
  private innerPid?: number;
  readonly exited: Promise<void>;

  constructor(
    readonly child: ChildProcess,
    private readonly mode: SandboxMode,
  ) {
    const outerExited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.once('error', () => resolve());
    });
    // Killed from outside, bubblewrap may exit before its namespace is gone: wait for that too.
    this.exited = outerExited.then(() => (this.innerPid ? gone(this.innerPid, 2000) : undefined));
    const info = child.stdio[3] as NodeJS.ReadableStream | undefined;
    if (info) {
      let text = '';
      info.setEncoding('utf8');
      info.on('data', (chunk: string) => {
        text += chunk;
        const pid = /"child-pid":\s*(\d+)/.exec(text);
        if (pid) this.innerPid = Number(pid[1]);
      });
      info.on('error', () => undefined);
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM to the whole tree, then SIGKILL after `graceMs`; resolves once it is gone. */
  async stop(graceMs: number): Promise<void> {
    if (!this.running) return;
    this.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs)));
    const over = await Promise.race([this.exited.then(() => false), graceOver]);
    clearTimeout(timer);
    if (over) {
      this.kill();
      await this.exited;
    }
  }

  /** SIGKILL to the whole tree now. */
  kill(): void {
    this.signal('SIGKILL');
  }

  private signal(signal: NodeJS.Signals): void {
    const outer = this.child.pid;
    if (!outer) return;
    if (this.mode === 'bwrap' && this.innerPid) {
      // The namespace's init ignores SIGTERM; its session gets it. SIGKILL to the init ends the namespace.
      tryKill(-this.innerPid, signal);
      if (signal === 'SIGKILL') tryKill(this.innerPid, signal);
      else return;
    }
    if (this.mode === 'none') for (const pid of descendantsOf(outer)) tryKill(pid, signal);
    if (!tryKill(-outer, signal)) tryKill(outer, signal);
  }
}

/** The host's /etc/passwd and /etc/group, read once (a block starts on every wake). */
let hostAccounts: [passwd: string, group: string] | undefined;

/** The host's /etc/passwd and /etc/group with an account for a block's uid and its environment's gid. */
function accountFiles(ids: { uid: number; gid: number }): [passwd: string, group: string] {
  const host = (path: string): string => {
    try {
      const text = readFileSync(path, 'utf8');
      return text === '' || text.endsWith('\n') ? text : `${text}\n`;
    } catch {
      return '';
    }
  };
  hostAccounts ??= [host('/etc/passwd'), host('/etc/group')];
  return [
    `${hostAccounts[0]}kinto-block:x:${ids.uid}:${ids.gid}:Kinto block:/tmp:/usr/sbin/nologin\n`,
    `${hostAccounts[1]}kinto-env:x:${ids.gid}:\n`,
  ];
}

const hashOf = (key: string): number => createHash('sha256').update(key).digest().readUInt32BE(0) % SANDBOX_UID_COUNT;

async function gone(pid: number, withinMs: number): Promise<void> {
  for (const deadline = Date.now() + withinMs; Date.now() < deadline; await new Promise((r) => setTimeout(r, 10))) {
    try {
      if (/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return;
    } catch {
      return;
    }
  }
}

function tryKill(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Processes below `root` now (from /proc): children that left its process group still count. */
function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      /* gone */
    }
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length) {
    for (const kid of children.get(queue.shift()!) ?? []) {
      found.push(kid);
      queue.push(kid);
    }
  }
  return found;
}

/**
 * The read-only part of a sandbox: the system's folders, and the installs that PATH names outside
 * them (e.g. `~/.nvm/versions/node/v20/bin` binds `~/.nvm/versions/node/v20`), never KINTO_HOME,
 * a home folder itself or `/`.
 */
function systemFolders(
  home: string,
  path: string,
  userHome: string | undefined,
  otherUser: boolean,
): Pick<SandboxConfig, 'systemBinds' | 'systemLinks'> {
  const binds: string[] = [];
  const links: [string, string][] = [];
  for (const dir of SYSTEM_DIRS) {
    try {
      const stat = lstatSync(dir);
      if (stat.isSymbolicLink()) links.push([readlinkSync(dir), dir]);
      else if (stat.isDirectory()) binds.push(dir);
    } catch {
      /* not on this system */
    }
  }
  const realHome = safeRealpath(home) ?? home;
  const covered = (p: string) => [...binds, ...links.map(([, l]) => l)].some((b) => p === b || p.startsWith(b + sep));
  for (const entry of path.split(':')) {
    // Tools npm puts on PATH for its scripts are not the blocks' business.
    if (!entry.startsWith('/') || entry.includes('/node_modules/')) continue;
    const real = safeRealpath(entry);
    if (!real || covered(real)) continue;
    const parent = dirname(real);
    const candidate =
      real.endsWith(`${sep}bin`) && parent !== '/' && parent !== userHome && parent !== dirname(parent) && !isHomeDir(parent)
        ? parent
        : real;
    if (candidate === '/' || candidate === realHome || realHome.startsWith(candidate + sep) || candidate.startsWith(realHome + sep))
      continue;
    // Sandboxed uids could not open it anyway (e.g. under /root).
    if (otherUser && !reachableByOthers(candidate)) continue;
    if (!binds.includes(candidate)) binds.push(candidate);
  }
  return { systemBinds: binds, systemLinks: links };
}

/** Every folder on the way searchable by other users, and the folder itself readable. */
function reachableByOthers(dir: string): boolean {
  try {
    if ((statSync(dir).mode & 0o005) !== 0o005) return false;
    for (let d = dirname(dir); d !== dirname(d); d = dirname(d)) if ((statSync(d).mode & 0o001) === 0) return false;
    return true;
  } catch {
    return false;
  }
}

const isHomeDir = (dir: string): boolean => dir === '/root' || dirname(dir) === '/home';

function safeRealpath(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

function findOnPath(program: string, path: string | undefined): string | undefined {
  for (const dir of (path ?? '').split(':').concat(['/usr/bin', '/bin', '/usr/sbin', '/sbin'])) {
    if (dir && existsSync(`${dir}/${program}`)) return `${dir}/${program}`;
  }
  return undefined;
}

/** Runs `true` in a sandbox as blocks will run; the reason it fails, or undefined. */
async function probe(config: SandboxConfig): Promise<string | undefined> {
  const sandbox = new Sandbox(config);
  const proc = sandbox.spawn({ argv: ['true'], cwd: '/', env: { PATH: '/usr/bin:/bin' }, identity: 'probe' });
  let stderr = '';
  proc.child.stderr?.on('data', (c) => (stderr += String(c)));
  proc.child.stdout?.resume();
  const code = await new Promise<number | null>((resolve) => {
    proc.child.once('error', (e) => {
      stderr ||= e.message;
      resolve(-1);
    });
    proc.child.once('close', (c) => resolve(c));
  });
  return code === 0 ? undefined : `bubblewrap does not work here (${stderr.trim().split('\n').pop() || `exit code ${code}`})`;
}
