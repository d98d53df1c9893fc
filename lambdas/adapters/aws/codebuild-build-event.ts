import { BatchGetBuildsCommand, type CodeBuildClient } from '@aws-sdk/client-codebuild';
import type { CodeBuildCloudWatchStateEvent } from 'aws-lambda';
import type { BuildEvent } from '../../core/builds';
import type { Build } from '../../core/model';
import { BUILD_VARIABLES, EXPORTED_VARIABLES } from './codebuild-variables';

/** A CodeBuild "Build State Change" event, read as a change of one Kinto build. */
export interface BuildStateChange {
  /** The Kinto build, from the variables the builder set on StartBuild. */
  readonly build: Pick<Build, 'blockId' | 'id'>;
  /** CodeBuild's id of the build (`<project>:<uuid>`), for BatchGetBuilds. */
  readonly codebuildId: string;
  /** CodeBuild's build status: IN_PROGRESS, SUCCEEDED, FAILED, FAULT, STOPPED, TIMED_OUT. */
  readonly status: string;
  /** For a build that did not succeed: the phase that failed and why, in one line. */
  readonly failure?: string;
}

const FAILED_PHASE = new Set(['FAILED', 'FAULT', 'TIMED_OUT', 'CLIENT_ERROR', 'STOPPED']);

/**
 * Reads a state change event. Returns undefined for builds that Kinto did not start (no Kinto
 * build id among their environment variables): those are none of the platform's business.
 */
export function readBuildStateChange(event: CodeBuildCloudWatchStateEvent): BuildStateChange | undefined {
  const detail = event.detail;
  const info = detail?.['additional-information'];
  const variables = new Map((info?.environment?.['environment-variables'] ?? []).map((v) => [v.name, v.value]));
  const id = variables.get(BUILD_VARIABLES.buildId);
  const blockId = variables.get(BUILD_VARIABLES.blockId);
  if (!id || !blockId || typeof detail['build-id'] !== 'string') return undefined;
  const status = String(detail['build-status']);
  const failedPhase = [...(info?.phases ?? [])].reverse().find((p) => p['phase-status'] && FAILED_PHASE.has(p['phase-status']));
  const failure =
    status === 'IN_PROGRESS' || status === 'SUCCEEDED'
      ? undefined
      : failedPhase
        ? `CodeBuild ${failedPhase['phase-type']} phase ${failedPhase['phase-status']}${failedPhase['phase-context']?.filter(Boolean).length ? `: ${failedPhase['phase-context'].filter(Boolean).join('; ')}` : ''}`
        : `CodeBuild build ${status}`;
  return {
    build: { blockId, id },
    codebuildId: codebuildIdOf(detail['build-id']),
    status,
    ...(failure ? { failure: oneLine(failure) } : {}),
  };
}

/**
 * What the change means for the Kinto build. A succeeded build is asked for what the buildspec
 * exported (commit and image digest): state change events do not carry exported variables.
 */
export async function buildEventOf(change: BuildStateChange, codebuild: CodeBuildClient): Promise<BuildEvent> {
  if (change.status === 'IN_PROGRESS') return { status: 'running' };
  if (change.status !== 'SUCCEEDED')
    return { status: 'failed', error: `${change.failure ?? `CodeBuild build ${change.status}`}; the build log says more` };
  const out = await codebuild.send(new BatchGetBuildsCommand({ ids: [change.codebuildId] }));
  const exported = new Map((out.builds?.[0]?.exportedEnvironmentVariables ?? []).map((v) => [v.name, v.value]));
  const commit = exported.get(EXPORTED_VARIABLES.commit) || undefined;
  const image = exported.get(EXPORTED_VARIABLES.image) || undefined;
  if (!image || !/^[^\s@]+@sha256:[0-9a-f]{64}$/.test(image)) {
    return {
      status: 'failed',
      commit,
      error: `CodeBuild build ${change.codebuildId} succeeded without reporting an image digest (${EXPORTED_VARIABLES.image}); check buildspec.yml`,
    };
  }
  return { status: 'succeeded', commit, artifact: image };
}

/** `arn:aws:codebuild:<region>:<account>:build/<project>:<uuid>` -> `<project>:<uuid>`. */
function codebuildIdOf(buildArnOrId: string): string {
  const at = buildArnOrId.indexOf(':build/');
  return at < 0 ? buildArnOrId : buildArnOrId.slice(at + ':build/'.length);
}

const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim().slice(0, 1000);
