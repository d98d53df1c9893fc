import { CloudWatchLogsClient, DescribeLogStreamsCommand, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { CodeBuildClient, StartBuildCommand } from '@aws-sdk/client-codebuild';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { Block, Build } from '../../lambdas/core/model';
import { CodeBuildBuilder } from '../../lambdas/adapters/aws/codebuild-builder';

const codebuild = mockClient(CodeBuildClient);
const logs = mockClient(CloudWatchLogsClient);

const build = (overrides: Partial<Build> = {}): Build => ({
  id: '0abcdefgh000a1b2c3d4e5f6',
  projectId: 'p1',
  blockId: 'b1',
  blockName: 'api',
  status: 'queued',
  source: { repo: 'https://github.com/acme/shop.git', branch: 'main', subfolder: 'services/api' },
  settings: {
    buildCommand: 'npm ci && npm run build',
    startCommand: 'node dist/server.js',
    port: 3000,
    buildArgs: { NODE_ENV: 'production', NOTE: 'a "quoted" $value' },
  },
  rev: 1,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  ...overrides,
});

/** A start request as the core makes it (the builder reads the block's type only). */
const request = (b: Build, type: Block['type'] = 'microservice') => ({ build: b, block: { type } }) as never;

const builder = () =>
  new CodeBuildBuilder({
    codebuild: new CodeBuildClient({ region: 'eu-west-1' }),
    logs: new CloudWatchLogsClient({ region: 'eu-west-1' }),
    projectName: 'kinto-builds',
    logGroupName: '/kinto/builds',
  });

describe('Class: CodeBuildBuilder', () => {
  beforeEach(() => {
    codebuild.reset();
    logs.reset();
  });

  describe('Method: start', () => {
    it('starts one build of the project with the Kinto build carried in environment variables', async () => {
      codebuild.on(StartBuildCommand).resolves({ build: { id: 'kinto-builds:uuid-1' } });
      const b = build();

      await builder().start(request(b));

      expect(codebuild).toHaveReceivedCommandTimes(StartBuildCommand, 1);
      expect(codebuild).toHaveReceivedCommandWith(StartBuildCommand, {
        projectName: 'kinto-builds',
        idempotencyToken: b.id,
        environmentVariablesOverride: [
          { name: 'KINTO_BUILD_ID', value: b.id, type: 'PLAINTEXT' },
          { name: 'KINTO_BLOCK_ID', value: 'b1', type: 'PLAINTEXT' },
          { name: 'KINTO_BLOCK_TYPE', value: 'microservice', type: 'PLAINTEXT' },
          { name: 'KINTO_REPO', value: 'https://github.com/acme/shop.git', type: 'PLAINTEXT' },
          { name: 'KINTO_BRANCH', value: 'main', type: 'PLAINTEXT' },
          { name: 'KINTO_SUBFOLDER', value: 'services/api', type: 'PLAINTEXT' },
          { name: 'KINTO_BUILD_COMMAND', value: 'npm ci && npm run build', type: 'PLAINTEXT' },
          { name: 'KINTO_START_COMMAND', value: 'node dist/server.js', type: 'PLAINTEXT' },
          { name: 'KINTO_APP_PORT', value: '3000', type: 'PLAINTEXT' },
          { name: 'KINTO_BUILD_ARGS', value: JSON.stringify({ NODE_ENV: 'production', NOTE: 'a "quoted" $value' }), type: 'PLAINTEXT' },
        ],
        logsConfigOverride: { cloudWatchLogs: { status: 'ENABLED', groupName: '/kinto/builds', streamName: b.id } },
      });
    });

    it("passes a pinned commit, a Dockerfile and a job's type, and leaves out settings the block does not have", async () => {
      codebuild.on(StartBuildCommand).resolves({});
      const b = build({
        source: { repo: 'git@github.com:acme/db.git', commit: 'a1b2c3d' },
        settings: { dockerfile: 'Dockerfile', buildArgs: {} },
      });

      await builder().start(request(b, 'job'));

      const input = codebuild.commandCalls(StartBuildCommand)[0].args[0].input;
      expect(input.environmentVariablesOverride?.map((v) => [v.name, v.value])).toEqual([
        ['KINTO_BUILD_ID', b.id],
        ['KINTO_BLOCK_ID', 'b1'],
        ['KINTO_BLOCK_TYPE', 'job'],
        ['KINTO_REPO', 'git@github.com:acme/db.git'],
        ['KINTO_COMMIT_REF', 'a1b2c3d'],
        ['KINTO_DOCKERFILE', 'Dockerfile'],
      ]);
    });

    it('refuses local paths and file:// URLs, which CodeBuild cannot reach, without calling AWS', async () => {
      for (const repo of ['/home/me/repo', 'file:///srv/git/repo']) {
        await expect(builder().start(request(build({ source: { repo } })))).rejects.toThrow(/CodeBuild cannot reach .*https:\/\//);
      }
      expect(codebuild).toHaveReceivedCommandTimes(StartBuildCommand, 0);
    });

    it('lets a CodeBuild refusal reach the core (which records the build as failed)', async () => {
      codebuild.on(StartBuildCommand).rejects(new Error('AccountLimitExceededException: too many concurrent builds'));
      await expect(builder().start(request(build()))).rejects.toThrow(/too many concurrent builds/);
    });
  });

  describe('Method: readLog', () => {
    const stream = '0abcdefgh000a1b2c3d4e5f6/6f1c2d3e-uuid';

    it('finds the stream named after the Kinto build and returns its lines from the head', async () => {
      logs.on(DescribeLogStreamsCommand).resolves({ logStreams: [{ logStreamName: stream }] });
      logs
        .on(GetLogEventsCommand, { nextToken: undefined })
        .resolves({ events: [{ message: '[kinto] build started\n' }, { message: 'Step 1/5' }], nextForwardToken: 'f/1' })
        .on(GetLogEventsCommand, { nextToken: 'f/1' })
        .resolves({ events: [{ message: 'héllo' }], nextForwardToken: 'f/2' })
        .on(GetLogEventsCommand, { nextToken: 'f/2' })
        .resolves({ events: [], nextForwardToken: 'f/2' });

      const chunk = await builder().readLog(build(), 0);

      expect(chunk.text).toBe('[kinto] build started\nStep 1/5\nhéllo\n');
      expect(chunk.nextOffset).toBe(Buffer.byteLength(chunk.text));
      expect(logs).toHaveReceivedCommandWith(DescribeLogStreamsCommand, {
        logGroupName: '/kinto/builds',
        logStreamNamePrefix: '0abcdefgh000a1b2c3d4e5f6',
        limit: 1,
      });
      expect(logs).toHaveReceivedCommandWith(GetLogEventsCommand, {
        logGroupName: '/kinto/builds',
        logStreamName: stream,
        startFromHead: true,
      });
      expect(logs).toHaveReceivedCommandTimes(GetLogEventsCommand, 3);
    });

    it('returns only what follows the offset a follower got last time', async () => {
      logs.on(DescribeLogStreamsCommand).resolves({ logStreams: [{ logStreamName: stream }] });
      logs.on(GetLogEventsCommand).resolves({ events: [{ message: 'one' }, { message: 'two' }], nextForwardToken: undefined });

      const first = await builder().readLog(build(), 0);
      const next = await builder().readLog(build(), Buffer.byteLength('one\n'));
      const end = await builder().readLog(build(), first.nextOffset);

      expect(next).toEqual({ text: 'two\n', nextOffset: first.nextOffset });
      expect(end).toEqual({ text: '', nextOffset: first.nextOffset });
    });

    it('returns an empty chunk while CodeBuild has not created the stream yet', async () => {
      logs.on(DescribeLogStreamsCommand).resolves({ logStreams: [] });

      await expect(builder().readLog(build(), 0)).resolves.toEqual({ text: '', nextOffset: 0 });
      expect(logs).toHaveReceivedCommandTimes(GetLogEventsCommand, 0);
    });
  });
});
