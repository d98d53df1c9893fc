import { open } from 'node:fs/promises';

/**
 * Up to `max` bytes of a log file from `offset` (build and job logs are read while they are
 * written): a file not there yet reads as empty. The caller asks again from `nextOffset`.
 */
export async function readFileChunk(path: string, offset: number, max: number): Promise<{ text: string; nextOffset: number }> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { text: '', nextOffset: offset };
    throw e;
  }
  try {
    const size = (await handle.stat()).size;
    const length = Math.max(0, Math.min(max, size - offset));
    const buffer = Buffer.alloc(length);
    const { bytesRead } = length ? await handle.read(buffer, 0, length, offset) : { bytesRead: 0 };
    return { text: buffer.subarray(0, bytesRead).toString('utf8'), nextOffset: offset + bytesRead };
  } finally {
    await handle.close();
  }
}
