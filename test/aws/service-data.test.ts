import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServiceDataHandler } from '../../lambdas/handlers/service-data';

/** The service-data function on a folder standing for the file system's `/kinto`. */
describe('service-data function', () => {
  const ENV = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
  const FS = 'fs-0a1b2c3d4e5f60006';
  let root: string;
  let lines: string[];
  let handler: ReturnType<typeof createServiceDataHandler>;
  const service = (env: string, block: string) => {
    mkdirSync(join(root, env, block, 'nested'), { recursive: true });
    writeFileSync(join(root, env, block, 'nested', 'dump.rdb'), 'REDIS');
  };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'kinto-service-data-'));
    lines = [];
    handler = createServiceDataHandler({ root, fileSystemId: FS }, (l) => lines.push(l));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("lists an environment's service folders as EFS locations, and nothing of another environment", async () => {
    service(ENV, 'db');
    service(ENV, 'cache');
    service('other', 'db');
    writeFileSync(join(root, ENV, 'stray-file'), 'x');
    expect(await handler({ action: 'list', envId: ENV })).toEqual({
      data: [
        { block: 'cache', location: `efs://${FS}/kinto/${ENV}/cache` },
        { block: 'db', location: `efs://${FS}/kinto/${ENV}/db` },
      ],
    });
    expect(await handler({ action: 'list', envId: 'never-had-one' })).toEqual({ data: [] });
  });

  it('deletes the folders (and the emptied environment folder), says what it deleted, and finds nothing the second time', async () => {
    service(ENV, 'db');
    service('other', 'db');
    expect(await handler({ action: 'delete', envId: ENV })).toEqual({ data: [{ block: 'db', location: `efs://${FS}/kinto/${ENV}/db` }] });
    expect(readdirSync(root)).toEqual(['other']);
    expect(JSON.parse(lines[0])).toMatchObject({ message: 'service data deleted', envId: ENV, blocks: ['db'] });
    expect(await handler({ action: 'delete', envId: ENV })).toEqual({ data: [] });
  });

  it('names the environments with a folder (for GET /v1/kept-data), never a file or a name outside the protocol', async () => {
    expect(await handler({ action: 'environments' })).toEqual({ environments: [] });
    service(ENV, 'db');
    service('other', 'db');
    mkdirSync(join(root, 'lost+found'));
    writeFileSync(join(root, 'stray-file'), 'x');
    expect(await handler({ action: 'environments' })).toEqual({ environments: [ENV, 'other'].sort() });
    expect(lines).toEqual([]);
  });

  it('keeps what is no service data in the environment folder', async () => {
    service(ENV, 'db');
    writeFileSync(join(root, ENV, 'README'), 'x');
    await handler({ action: 'delete', envId: ENV });
    expect(readdirSync(join(root, ENV))).toEqual(['README']);
  });

  it.each([
    { action: 'delete', envId: '..' },
    { action: 'delete', envId: '../other' },
    { action: 'delete', envId: '' },
    { action: 'wipe', envId: ENV },
    null,
  ])('refuses %j without touching anything', async (event) => {
    service('other', 'db');
    await expect(handler(event)).rejects.toThrow();
    expect(readdirSync(join(root, 'other'))).toEqual(['db']);
  });
});
