import { readdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Block names (lambdas/core): a folder named otherwise is not a service's data. */
const BLOCK_FOLDER = /^[a-z][a-z0-9-]{0,31}$/;
/** Environment ids, as service-data-protocol.ts admits them. */
const ENVIRONMENT_FOLDER = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The custom services' folders of one environment under `root` (the file system's `/kinto`,
 * mounted): `<root>/<envId>/<block>`, one per service that ever ran there. The folders are the
 * truth: access points are pointers that go with the environment's stack, the data does not.
 */
export function listServiceFolders(root: string, envId: string): Promise<string[]> {
  return foldersIn(join(root, envId), BLOCK_FOLDER);
}

/** Environment folders under `root` (ids as the protocol admits them), each holding some service's data or none. */
export function listEnvironmentFolders(root: string): Promise<string[]> {
  return foldersIn(root, ENVIRONMENT_FOLDER);
}

/** The folders in `dir` named as `name` admits, sorted; none when `dir` is not there. */
async function foldersIn(dir: string, name: RegExp): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries
      .filter((e) => e.isDirectory() && name.test(e.name))
      .map((e) => e.name)
      .sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/**
 * Deletes the environment's folders (and its own, once empty) and returns the blocks whose data
 * was there; asked again, it finds nothing and returns nothing. A task of the deleted
 * environment still stopping cannot put files back: its folder is gone, so its writes fail.
 */
export async function deleteServiceFolders(root: string, envId: string): Promise<string[]> {
  const blocks = await listServiceFolders(root, envId);
  // Retries: a task still stopping may be closing files while the folder goes.
  for (const block of blocks) await rm(join(root, envId, block), { recursive: true, force: true, maxRetries: 3 });
  try {
    await rmdir(join(root, envId));
  } catch (e) {
    // Not there, or holding something that is no service's data: left as it is.
    if (!['ENOENT', 'ENOTEMPTY', 'EEXIST'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
  }
  return blocks;
}
