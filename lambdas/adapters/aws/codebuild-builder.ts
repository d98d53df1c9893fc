import { DescribeLogStreamsCommand, GetLogEventsCommand, type CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { StartBuildCommand, type CodeBuildClient, type EnvironmentVariable } from '@aws-sdk/client-codebuild';
import type { BlockType, Build } from '../../core/model';
import type { Builder, BuildLogChunk, BuildRequest } from '../../ports/builder';
import { BUILD_VARIABLES } from './codebuild-variables';

export interface CodeBuildBuilderOptions {
  readonly codebuild: CodeBuildClient;
  readonly logs: CloudWatchLogsClient;
  /** The platform's one build project (it runs `buildspec.yml`). */
  readonly projectName: string;
  /** The log group the project writes build logs to; each build gets a stream named after its Kinto id. */
  readonly logGroupName: string;
}

/** At most this much log text per read (the local builder uses the same cap). */
const MAX_LOG_CHUNK = 256 * 1024;
/** GetLogEvents pages read per call, so that a huge log cannot hold a request for long. */
const MAX_LOG_PAGES = 20;

/**
 * The Builder port on AWS: one CodeBuild build per Kinto build. What to build travels as
 * environment variable overrides (names in `codebuild-variables.ts`); progress comes back through
 * EventBridge to the build-events Lambda, not through this class.
 */
export class CodeBuildBuilder implements Builder {
  constructor(private readonly options: CodeBuildBuilderOptions) {}

  async start({ build, block }: BuildRequest): Promise<void> {
    const { repo } = build.source;
    if (!/^(https?|ssh|git):\/\//.test(repo) && !/^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:/.test(repo)) {
      throw new Error(
        `CodeBuild cannot reach "${repo}": on AWS, use an https://, ssh:// or git:// URL (local paths and file:// URLs work with npm start only)`,
      );
    }
    await this.options.codebuild.send(
      new StartBuildCommand({
        projectName: this.options.projectName,
        // A retried StartBuild (SDK retry after a timeout) must not start a second build.
        idempotencyToken: build.id,
        environmentVariablesOverride: buildVariables(build, block.type),
        logsConfigOverride: {
          cloudWatchLogs: { status: 'ENABLED', groupName: this.options.logGroupName, streamName: build.id },
        },
      }),
    );
  }

  /**
   * Reads the build log as one text (each event one line), from byte `offset`. CloudWatch Logs has
   * no byte offsets, so the stream is read from its head and the first `offset` bytes are skipped:
   * build logs are small, and a reader follows a running build with its last `nextOffset`.
   */
  async readLog(build: Build, offset: number): Promise<BuildLogChunk> {
    const { logs, logGroupName } = this.options;
    // CodeBuild names the stream `<streamName override>/<CodeBuild build uuid>`.
    const streams = await logs.send(new DescribeLogStreamsCommand({ logGroupName, logStreamNamePrefix: build.id, limit: 1 }));
    const logStreamName = streams.logStreams?.[0]?.logStreamName;
    if (!logStreamName) return { text: '', nextOffset: offset };

    const parts: Buffer[] = [];
    let taken = 0;
    let position = 0;
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_LOG_PAGES && taken < MAX_LOG_CHUNK; page++) {
      const out = await logs.send(new GetLogEventsCommand({ logGroupName, logStreamName, startFromHead: true, nextToken }));
      for (const event of out.events ?? []) {
        const message = event.message ?? '';
        const bytes = Buffer.from(message.endsWith('\n') ? message : `${message}\n`, 'utf8');
        const end = position + bytes.length;
        if (end > offset && taken < MAX_LOG_CHUNK) {
          const slice = bytes.subarray(Math.max(0, offset - position));
          parts.push(slice);
          taken += slice.length;
        }
        position = end;
      }
      // At the end of the stream CloudWatch returns the token it was given.
      if (!out.nextForwardToken || out.nextForwardToken === nextToken) break;
      nextToken = out.nextForwardToken;
    }
    return { text: Buffer.concat(parts).toString('utf8'), nextOffset: offset + taken };
  }
}

/**
 * The build's source and settings, and the block's type (a job's image gets the job runner), as
 * CodeBuild environment variables (empty values left out).
 */
export function buildVariables(build: Build, blockType: BlockType): EnvironmentVariable[] {
  const { source, settings } = build;
  const values: Record<string, string | undefined> = {
    [BUILD_VARIABLES.buildId]: build.id,
    [BUILD_VARIABLES.blockId]: build.blockId,
    [BUILD_VARIABLES.blockType]: blockType,
    [BUILD_VARIABLES.repo]: source.repo,
    [BUILD_VARIABLES.branch]: source.branch,
    [BUILD_VARIABLES.commit]: source.commit,
    [BUILD_VARIABLES.subfolder]: source.subfolder,
    [BUILD_VARIABLES.dockerfile]: settings.dockerfile,
    [BUILD_VARIABLES.buildCommand]: settings.buildCommand,
    [BUILD_VARIABLES.startCommand]: settings.startCommand,
    [BUILD_VARIABLES.outputDir]: settings.outputDir,
    [BUILD_VARIABLES.port]: settings.port === undefined ? undefined : String(settings.port),
    [BUILD_VARIABLES.buildArgs]: Object.keys(settings.buildArgs ?? {}).length ? JSON.stringify(settings.buildArgs) : undefined,
  };
  return Object.entries(values)
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1] !== '')
    .map(([name, value]) => ({ name, value, type: 'PLAINTEXT' }));
}
