import { execFile, execFileSync } from 'node:child_process';

let instances = 0;

/**
 * Keeps sandboxed code from connecting straight to a block's loopback port (where it could send a
 * forged `kinto-client-id`): an nftables table of this platform rejects loopback connections from
 * sandbox uids to block ports, except a block's own (its uid in its environment's gid). Custom
 * services' addresses (platform ports) admit the sandboxes of one environment (its gid) only. The
 * platform (which proxies every call) and other users are not affected. Needs root and nft;
 * `start` answers undefined without them.
 */
export class PortGuard {
  private queue: Promise<void> = Promise.resolve();

  private constructor(
    private readonly nft: string,
    private readonly table: string,
  ) {}

  /** `uids`: the sandboxes' uid range (first and last). */
  static start(nft: string | undefined, uids: readonly [number, number]): PortGuard | undefined {
    if (!nft || process.getuid?.() !== 0) return undefined;
    removeStaleTables(nft);
    const table = `kinto_${process.pid}_${++instances}_${Date.now() % 1e6}`;
    try {
      execFileSync(nft, ['-f', '-'], {
        input: `table inet ${table} {
  set ports { type inet_service; }
  set own { type uid . gid . inet_service; }
  set services { type inet_service; }
  set members { type gid . inet_service; }
  chain output {
    type filter hook output priority 0; policy accept;
    oifname "lo" meta skuid . meta skgid . tcp dport @own accept
    oifname "lo" meta skuid ${uids[0]}-${uids[1]} tcp dport @ports reject with tcp reset
    oifname "lo" meta skgid . tcp dport @members accept
    oifname "lo" meta skuid ${uids[0]}-${uids[1]} tcp dport @services reject with tcp reset
  }
}
`,
        stdio: ['pipe', 'ignore', 'pipe'],
      });
    } catch {
      return undefined;
    }
    return new PortGuard(nft, table);
  }

  /** `port` is a block's: only its own processes (`uid` in `gid`) and non-sandboxed users may connect. */
  allow(uid: number, gid: number, port: number): void {
    // Its own pass first, so that the block is never refused its own port.
    this.run(
      ['add', 'element', 'inet', this.table, 'own', `{ ${uid} . ${gid} . ${port} }`],
      ['add', 'element', 'inet', this.table, 'ports', `{ ${port} }`],
    );
  }

  forget(uid: number, gid: number, port: number): void {
    this.run(
      ['delete', 'element', 'inet', this.table, 'ports', `{ ${port} }`],
      ['delete', 'element', 'inet', this.table, 'own', `{ ${uid} . ${gid} . ${port} }`],
    );
  }

  /** `port` is a custom service's address: only sandboxes of `gid` (one environment) and non-sandboxed users may connect. */
  admit(gid: number, port: number): void {
    this.run(
      ['add', 'element', 'inet', this.table, 'members', `{ ${gid} . ${port} }`],
      ['add', 'element', 'inet', this.table, 'services', `{ ${port} }`],
    );
  }

  dismiss(gid: number, port: number): void {
    this.run(
      ['delete', 'element', 'inet', this.table, 'services', `{ ${port} }`],
      ['delete', 'element', 'inet', this.table, 'members', `{ ${gid} . ${port} }`],
    );
  }

  /** Resolves once every change asked for so far is in place. */
  settled(): Promise<void> {
    return this.queue;
  }

  close(): void {
    try {
      execFileSync(this.nft, ['delete', 'table', 'inet', this.table], { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
  }

  private run(...commands: string[][]): void {
    // In order, one at a time: a port given back and taken again must not race.
    for (const args of commands) {
      this.queue = this.queue.then(() => new Promise<void>((resolve) => execFile(this.nft, args, () => resolve())));
    }
  }
}

/** Tables of platforms that are gone (their pid is dead). */
function removeStaleTables(nft: string): void {
  let listing = '';
  try {
    listing = execFileSync(nft, ['list', 'tables', 'inet'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return;
  }
  for (const m of listing.matchAll(/table inet (kinto_(\d+)_\w+)/g)) {
    const pid = Number(m[2]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive) {
      try {
        execFileSync(nft, ['delete', 'table', 'inet', m[1]], { stdio: 'ignore' });
      } catch {
        /* another platform removed it */
      }
    }
  }
}
