import { BatchGetBuildsCommand, CodeBuildClient } from '@aws-sdk/client-codebuild';
import type { CodeBuildCloudWatchStateEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { Build } from '../../lambdas/core/model';
import { createBuildEventsHandler } from '../../lambdas/handlers/build-events';
import { startTestStore } from '../support/dynalite-store';

const codebuild = mockClient(CodeBuildClient);
const IMAGE = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/kinto-blocks@sha256:${'ab'.repeat(32)}`;
const COMMIT = 'c0ffee0000000000000000000000000000000001';

/** A state change event as EventBridge delivers it (shape of AWS's documented sample). */
function stateChange(status: string, variables: Record<string, string>, phases: object[] = []): CodeBuildCloudWatchStateEvent {
  const buildArn = 'arn:aws:codebuild:eu-west-1:123456789012:build/kinto-builds:8745a7a9-c340-456a-9166-edf953571bea';
  return {
    version: '0',
    id: 'c030038d-8c4d-6141-9545-00ff7b7153ea',
    'detail-type': 'CodeBuild Build State Change',
    source: 'aws.codebuild',
    account: '123456789012',
    time: '2026-01-01T00:00:00Z',
    region: 'eu-west-1',
    resources: [buildArn],
    detail: {
      'build-status': status,
      'project-name': 'kinto-builds',
      'build-id': buildArn,
      'current-phase': 'COMPLETED',
      'current-phase-context': '[]',
      version: '1',
      'additional-information': {
        environment: {
          image: 'aws/codebuild/amazonlinux-aarch64-standard:3.0',
          'privileged-mode': true,
          'compute-type': 'BUILD_GENERAL1_SMALL',
          type: 'ARM_CONTAINER',
          'environment-variables': Object.entries(variables).map(([name, value]) => ({ name, value, type: 'PLAINTEXT' })),
        },
        phases,
      },
    },
  } as unknown as CodeBuildCloudWatchStateEvent;
}

describe('Handler: build-events', () => {
  let store: Awaited<ReturnType<typeof startTestStore>>;
  let lines: string[];
  let handler: ReturnType<typeof createBuildEventsHandler>;
  let n = 0;

  beforeAll(async () => {
    store = await startTestStore();
  });
  afterAll(() => store.close());
  beforeEach(() => {
    codebuild.reset();
    lines = [];
    handler = createBuildEventsHandler({
      store: store.store,
      codebuild: new CodeBuildClient({ region: 'eu-west-1' }),
      log: (l) => lines.push(l),
    });
  });

  async function queuedBuild(): Promise<Build> {
    const at = new Date().toISOString();
    const build: Build = {
      id: `build${++n}`,
      projectId: 'p1',
      blockId: `block${n}`,
      blockName: 'api',
      status: 'queued',
      source: { repo: 'https://github.com/acme/shop.git' },
      settings: { startCommand: 'node server.js', buildArgs: {} },
      rev: 1,
      createdAt: at,
      updatedAt: at,
    };
    return store.store.builds.create(build);
  }
  const ids = (b: Build) => ({ KINTO_BUILD_ID: b.id, KINTO_BLOCK_ID: b.blockId, CODEBUILD_SOMETHING: 'x' });
  const stored = (b: Build) => store.store.builds.get({ blockId: b.blockId, id: b.id });

  it('marks the build running when CodeBuild reports IN_PROGRESS', async () => {
    const b = await queuedBuild();
    await handler(stateChange('IN_PROGRESS', ids(b)));
    expect(await stored(b)).toMatchObject({ status: 'running', rev: 2 });
    expect(codebuild).toHaveReceivedCommandTimes(BatchGetBuildsCommand, 0);
  });

  it('on SUCCEEDED, reads the exported commit and image digest and records them', async () => {
    const b = await queuedBuild();
    codebuild.on(BatchGetBuildsCommand).resolves({
      builds: [
        {
          exportedEnvironmentVariables: [
            { name: 'KINTO_COMMIT', value: COMMIT },
            { name: 'KINTO_IMAGE', value: IMAGE },
          ],
        },
      ],
    });

    await handler(stateChange('IN_PROGRESS', ids(b)));
    await handler(stateChange('SUCCEEDED', ids(b)));

    expect(codebuild).toHaveReceivedCommandWith(BatchGetBuildsCommand, { ids: ['kinto-builds:8745a7a9-c340-456a-9166-edf953571bea'] });
    const after = await stored(b);
    expect(after).toMatchObject({ status: 'succeeded', commit: COMMIT, artifact: IMAGE });
    expect(after?.finishedAt).toBeDefined();
  });

  it('on FAILED, records the failed phase and its reason in one line', async () => {
    const b = await queuedBuild();
    await handler(
      stateChange('FAILED', ids(b), [
        { 'phase-type': 'PRE_BUILD', 'phase-status': 'SUCCEEDED', 'phase-context': [': '] },
        {
          'phase-type': 'BUILD',
          'phase-status': 'FAILED',
          'phase-context': ['COMMAND_EXECUTION_ERROR: Error while executing command: ( set -euo pipefail\n ... ). Reason: exit status 1'],
        },
        { 'phase-type': 'COMPLETED' },
      ]),
    );
    const after = await stored(b);
    expect(after?.status).toBe('failed');
    expect(after?.error).toBe(
      'CodeBuild BUILD phase FAILED: COMMAND_EXECUTION_ERROR: Error while executing command: ( set -euo pipefail ... ). Reason: exit status 1; the build log says more',
    );
  });

  it.each(['STOPPED', 'TIMED_OUT', 'FAULT'])('records a %s build as failed', async (status) => {
    const b = await queuedBuild();
    await handler(stateChange(status, ids(b)));
    expect(await stored(b)).toMatchObject({ status: 'failed', error: `CodeBuild build ${status}; the build log says more` });
  });

  it('fails a SUCCEEDED build that exported no image digest, rather than leave a release nothing to run', async () => {
    const b = await queuedBuild();
    codebuild.on(BatchGetBuildsCommand).resolves({
      builds: [
        {
          exportedEnvironmentVariables: [
            { name: 'KINTO_COMMIT', value: COMMIT },
            { name: 'KINTO_IMAGE', value: '' },
          ],
        },
      ],
    });
    await handler(stateChange('SUCCEEDED', ids(b)));
    expect(await stored(b)).toMatchObject({
      status: 'failed',
      commit: COMMIT,
      error: expect.stringMatching(/without reporting an image digest/),
    });
  });

  it('ignores a late IN_PROGRESS after the build finished, and a repeated SUCCEEDED (redelivery)', async () => {
    const b = await queuedBuild();
    codebuild.on(BatchGetBuildsCommand).resolves({
      builds: [
        {
          exportedEnvironmentVariables: [
            { name: 'KINTO_COMMIT', value: COMMIT },
            { name: 'KINTO_IMAGE', value: IMAGE },
          ],
        },
      ],
    });
    await handler(stateChange('SUCCEEDED', ids(b)));
    const done = await stored(b);

    await handler(stateChange('IN_PROGRESS', ids(b)));
    await handler(stateChange('SUCCEEDED', ids(b)));

    expect(await stored(b)).toEqual(done);
  });

  it('ignores builds Kinto did not start, and builds deleted since (without throwing, so nothing is retried)', async () => {
    await handler(stateChange('SUCCEEDED', { SOME_OTHER: 'x' }));
    await handler(stateChange('IN_PROGRESS', { KINTO_BUILD_ID: 'gone', KINTO_BLOCK_ID: 'gone' }));
    expect(lines.map((l) => JSON.parse(l).message)).toEqual([
      'ignored a build Kinto did not start',
      'build no longer exists; event ignored',
    ]);
  });

  it('throws on a store failure, so that Lambda retries and then dead-letters the event', async () => {
    const broken = createBuildEventsHandler({
      store: { ...store.store, builds: { ...store.store.builds, get: () => Promise.reject(new Error('ProvisionedThroughputExceeded')) } },
      codebuild: new CodeBuildClient({ region: 'eu-west-1' }),
      log: () => undefined,
    });
    await expect(broken(stateChange('IN_PROGRESS', { KINTO_BUILD_ID: 'x', KINTO_BLOCK_ID: 'y' }))).rejects.toThrow(
      /ProvisionedThroughputExceeded/,
    );
  });
});
