import { chmod, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ServiceData } from '../../../ports/runtime';
import type { Sandbox } from './sandbox';

/**
 * Where custom services keep their data on this machine: `<KINTO_HOME>/data/<env id>/<block>`,
 * one folder per environment and block (`KINTO_DATA_DIR`). It is named after the block, not its
 * build or release, so it outlives idle stops, restarts, rebuilds, deploys, rollbacks and
 * promotes; two environments never share one. Only an explicit request deletes it.
 */
export class ServiceDataFolders {
  constructor(private readonly root: string) {}

  /** The folder of one environment's block (not created). */
  folderOf(envId: string, block: string): string {
    return join(this.root, envId, block);
  }

  /**
   * Creates the folder (0700) if needed and gives it to the block's sandbox uid in its
   * environment's gid, so that only the service's own processes can write it.
   */
  async prepare(envId: string, block: string, sandbox: Sandbox, identity: string): Promise<string> {
    const dir = this.folderOf(envId, block);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    const ids = sandbox.idsOf(identity, envId);
    const now = await stat(dir);
    // A whole folder is given again only when its owner changed (the block was created anew).
    if (ids && (now.uid !== ids.uid || now.gid !== ids.gid)) await sandbox.own(dir, identity, envId);
    return dir;
  }

  /** The data folders an environment has (whether or not its blocks still exist). */
  async list(envId: string): Promise<ServiceData[]> {
    let names: string[];
    try {
      names = await readdir(join(this.root, envId));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    return names.sort().map((block) => ({ block, location: this.folderOf(envId, block) }));
  }

  /** The environments (ids) with a data folder. */
  async environments(): Promise<string[]> {
    try {
      const entries = await readdir(this.root, { withFileTypes: true });
      return entries
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }

  /** Deletes an environment's data folders (its services must be stopped); returns what was there. */
  async remove(envId: string): Promise<ServiceData[]> {
    const found = await this.list(envId);
    await rm(join(this.root, envId), { recursive: true, force: true });
    return found;
  }
}
