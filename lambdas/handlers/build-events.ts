import { CodeBuildClient } from '@aws-sdk/client-codebuild';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import middy from '@middy/core';
import type { CodeBuildCloudWatchStateEvent } from 'aws-lambda';
import { recordBuildEvent } from '../core/builds';
import type { CoreContext } from '../core/context';
import { isKintoError } from '../core/errors';
import type { Store } from '../ports/store';
import { buildEventOf, readBuildStateChange } from '../adapters/aws/codebuild-build-event';
import { DynamoDbStore } from '../adapters/dynamodb/dynamodb-store';
import { randomIds, systemClock } from '../adapters/clock-and-ids';
import { requiredEnv } from './required-env';

export interface BuildEventsHandlerOptions {
  readonly store: Store;
  readonly codebuild: CodeBuildClient;
  readonly clock?: CoreContext['clock'];
  readonly log?: (line: string) => void;
}

const notHere = (what: string) => () => Promise.reject(new Error(`the build-events handler does not ${what}`));

/**
 * CodeBuild "Build State Change" (EventBridge) -> the Kinto build's status. Redelivered and
 * out-of-order events are harmless: the core only moves builds forward. Errors other than
 * "no such build" are thrown, so that Lambda retries and then keeps the event in the dead-letter queue.
 */
export function createBuildEventsHandler(options: BuildEventsHandlerOptions): (event: CodeBuildCloudWatchStateEvent) => Promise<void> {
  const log = options.log ?? ((line: string) => console.log(line));
  const ctx: CoreContext = {
    store: options.store,
    clock: options.clock ?? systemClock,
    ids: randomIds,
    runtime: {
      prepare: notHere('deploy'),
      activate: notHere('deploy'),
      runJob: notHere('run jobs'),
      readJobLog: notHere('read job logs'),
      stop: notHere('stop environments'),
    },
    deployer: {
      start: () => Promise.reject(new Error('the build-events handler does not deploy')),
      runJob: () => Promise.reject(new Error('the build-events handler does not run jobs')),
    },
    builder: {
      start: () => Promise.reject(new Error('the build-events handler does not start builds')),
      readLog: () => Promise.reject(new Error('the build-events handler does not read build logs')),
    },
  };
  return async (event) => {
    const change = readBuildStateChange(event);
    if (!change) {
      log(JSON.stringify({ level: 'warn', message: 'ignored a build Kinto did not start', codebuildBuild: event.detail?.['build-id'] }));
      return;
    }
    const report = await buildEventOf(change, options.codebuild);
    try {
      const build = await recordBuildEvent(ctx, change.build, report);
      log(
        JSON.stringify({
          level: 'info',
          message: 'build event recorded',
          buildId: build.id,
          blockId: build.blockId,
          codebuildStatus: change.status,
          status: build.status,
        }),
      );
    } catch (e) {
      if (isKintoError(e) && e.code === 'BUILD_NOT_FOUND') {
        // The block (and its builds) was deleted while it built: nothing left to update.
        log(
          JSON.stringify({
            level: 'warn',
            message: 'build no longer exists; event ignored',
            buildId: change.build.id,
            blockId: change.build.blockId,
          }),
        );
        return;
      }
      throw e;
    }
  };
}

let handlerFn: ReturnType<typeof createBuildEventsHandler> | undefined;

/** Lambda entry point. Environment: STATE_TABLE_NAME. */
export const handler = middy<CodeBuildCloudWatchStateEvent, void>().handler((event) => {
  handlerFn ??= createBuildEventsHandler({
    store: new DynamoDbStore({ client: new DynamoDBClient({}), tableName: requiredEnv('STATE_TABLE_NAME') }),
    codebuild: new CodeBuildClient({}),
  });
  return handlerFn(event);
});
