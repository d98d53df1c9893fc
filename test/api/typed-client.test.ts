import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createKintoClient, KintoApiError, unwrap } from '../../client/kinto-client';
import { startTestPlatform, type TestPlatform } from '../support/platform';

/** The typed client the console and the CLI share (client/), generated from the API's OpenAPI document. */
describe('Module: client', () => {
  it('the committed client/schema.ts is what the route table generates (npm run generate:client)', () => {
    const root = join(__dirname, '../..');
    const check = spawnSync(process.execPath, ['--import', 'tsx', 'client/generate-schema.ts', '--check'], { cwd: root, encoding: 'utf8' });
    expect({ status: check.status, stderr: check.stderr }).toEqual({ status: 0, stderr: '' });
  }, 60_000);

  describe('against the real platform', () => {
    let kinto: TestPlatform;
    beforeAll(async () => {
      kinto = await startTestPlatform();
    });
    afterAll(() => kinto.stop());

    it('calls the API with the admin token and returns typed data', async () => {
      const client = createKintoClient({ baseUrl: kinto.url, token: kinto.adminToken });
      const made = unwrap(await client.POST('/v1/projects', { body: { name: 'typed', description: 'from the client' } }));
      expect(made.data.name).toBe('typed');
      const list = unwrap(await client.GET('/v1/projects'));
      expect(list.data.map((p) => p.name)).toEqual(['typed']);
    });

    it("turns an error answer into a KintoApiError with the API's code and message", async () => {
      const client = createKintoClient({ baseUrl: kinto.url, token: kinto.adminToken });
      const missing = await client.GET('/v1/projects/{project}', { params: { path: { project: 'nope' } } });
      expect(() => unwrap(missing)).toThrow(KintoApiError);
      expect(() => unwrap(missing)).toThrow(/no project "nope"/);
      const anonymous = createKintoClient({ baseUrl: kinto.url });
      const refused = await anonymous.GET('/v1/projects');
      let error: unknown;
      try {
        unwrap(refused);
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    });
  });
});
