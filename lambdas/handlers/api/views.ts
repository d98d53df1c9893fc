import { stripVTControlCharacters } from 'node:util';
import type { BlockConfigView } from '../../core/block-config';
import type { DataOutcome } from '../../core/environment-data';
import type { Block, Build, Deployment, Environment, JobRun, Project, Release, ResolvedBlockConfig, SealedSecret } from '../../core/model';
import type { Runtime } from '../../ports/runtime';
import type {
  BlockConfigViewShape,
  BuildViewShape,
  DeletionViewShape,
  DeploymentViewShape,
  EnvironmentViewShape,
  JobRunViewShape,
  ProjectView,
} from './view-schemas';

/**
 * What the control API returns for each entity: stored fields minus internal keys and secrets
 * (password hashes never leave the platform).
 */

export const projectView = (p: Project): ProjectView => ({
  name: p.name,
  description: p.description,
  id: p.id,
  createdAt: p.createdAt,
  updatedAt: p.updatedAt,
  rev: p.rev,
});

export const blockView = (b: Block) => {
  const { projectId: _projectId, ...rest } = b;
  return rest;
};

export const environmentView = (e: Environment, runtime: Pick<Runtime, 'gatewayUrl'>): EnvironmentViewShape => ({
  name: e.name,
  id: e.id,
  status: e.status,
  gatewayUrl: runtime.gatewayUrl?.(e) ?? e.gatewayUrl ?? null,
  running: e.running ?? null,
  deploying: e.deploying ?? null,
  clonedFrom: e.clonedFrom ?? null,
  createdAt: e.createdAt,
  updatedAt: e.updatedAt,
  rev: e.rev,
});

/** A secret variable as every answer shows it: that it is set, and when; never its value. */
const secretView = (s: SealedSecret) => ({ secret: true as const, updatedAt: s.updatedAt });

/** Plain variables by value, secret ones as `{secret: true, updatedAt}`. */
const variablesView = (plain: Readonly<Record<string, string>>, secrets: Readonly<Record<string, SealedSecret>> | undefined) => ({
  ...plain,
  ...Object.fromEntries(Object.entries(secrets ?? {}).map(([name, s]) => [name, secretView(s)])),
});

const resolvedView = (c: ResolvedBlockConfig) => ({
  variables: variablesView(c.variables, c.secrets),
  memoryMb: c.memoryMb,
  visibility: c.visibility,
  basicAuth: c.basicAuth ? { username: c.basicAuth.username, passwordSet: true as const } : null,
  ...(c.timeoutSeconds !== undefined ? { timeoutSeconds: c.timeoutSeconds } : {}),
  ...(c.idleTimeoutSeconds !== undefined ? { idleTimeoutSeconds: c.idleTimeoutSeconds } : {}),
  ...(c.alwaysOn !== undefined ? { alwaysOn: c.alwaysOn } : {}),
});

export const blockConfigView = (v: BlockConfigView, envName: string): BlockConfigViewShape => ({
  block: v.block.name,
  environment: envName,
  ...resolvedView(v.resolved),
  overrides: variablesView(v.config?.variables ?? {}, v.config?.secrets),
  missingRequired: v.missingRequired,
  rev: v.config?.rev ?? 0,
  updatedAt: v.config?.updatedAt ?? null,
});

/**
 * What a deletion did with custom services' data, or undefined when there was none (the route
 * then answers 204). `retry` is the body that would have deleted it too.
 */
export function deletionView(outcome: DataOutcome, retry: string): DeletionViewShape | undefined {
  const { kept, deleted } = outcome;
  if (kept.length === 0 && deleted.length === 0) return undefined;
  const list = (items: DataOutcome['kept']) => items.map((d) => `${d.environment}/${d.block} (${d.location})`).join(', ');
  const message =
    kept.length > 0
      ? `Deleted. The data of its custom services is kept: ${list(kept)}. Copy what you need; DELETE /v1/kept-data/{environmentId} deletes it later (GET /v1/kept-data lists it), and a deletion with ${retry} deletes it at once.`
      : `Deleted, with the data of its custom services: ${list(deleted)}.`;
  return { keptData: [...kept], deletedData: [...deleted], message };
}

export const releaseView = (r: Release) => ({
  version: r.version,
  notes: r.notes,
  createdAt: r.createdAt,
  blocks: r.blocks.map((b) => ({ ...b })),
});

export const deploymentView = (d: Deployment): DeploymentViewShape => ({
  id: d.id,
  release: d.release,
  action: d.action,
  promotedFrom: d.promotedFrom ?? null,
  tagged: d.tagged ?? false,
  status: d.status,
  error: d.error ?? null,
  failedStep: d.failedStep ?? null,
  failedJobs: [...(d.failedJobs ?? [])],
  steps: d.steps.map((s) => ({
    id: s.id,
    kind: s.kind,
    block: s.block ?? null,
    status: s.status,
    startedAt: s.startedAt ?? null,
    endedAt: s.endedAt ?? null,
    message: s.message ?? null,
    runId: s.runId ?? null,
  })),
  createdAt: d.createdAt,
  updatedAt: d.updatedAt,
  finishedAt: d.finishedAt ?? null,
  config: Object.fromEntries(Object.entries(d.config).map(([name, c]) => [name, resolvedView(c)])),
});

export const jobRunView = (r: JobRun): JobRunViewShape => ({
  id: r.id,
  job: r.job,
  trigger: r.trigger,
  release: r.release,
  deploymentId: r.deploymentId ?? null,
  status: r.status,
  startedAt: r.startedAt,
  endedAt: r.endedAt ?? null,
  durationMs: r.durationMs ?? null,
  exitCode: r.exitCode ?? null,
  reason: r.reason ?? null,
});

export const buildView = (b: Build): BuildViewShape => ({
  id: b.id,
  block: b.blockName,
  status: b.status,
  commit: b.commit ?? null,
  source: b.source,
  settings: b.settings,
  error: b.error ?? null,
  createdAt: b.createdAt,
  startedAt: b.startedAt ?? null,
  finishedAt: b.finishedAt ?? null,
  durationMs: b.startedAt && b.finishedAt ? Date.parse(b.finishedAt) - Date.parse(b.startedAt) : null,
});

/**
 * OSC, DCS, SOS, PM and APC strings up to their terminator (stripVTControlCharacters leaves
 * titles with spaces). The body stops at any ESC or C1 character, so matching stays linear.
 */
const TERMINAL_STRINGS = /(?:\x1b[\]PX^_]|[\x90\x98\x9d-\x9f])[^\x07\x1b\x80-\x9f]*(?:\x07|\x1b\\|\x9c)/g;

/**
 * A build log as the API returns it: terminal escape sequences (colours, cursor moves, titles)
 * and other control characters removed, so that printing it cannot drive the reader's terminal.
 * Tabs and line ends stay; a carriage return ends a line (progress bars stay readable).
 */
export const buildLogView = (text: string): string =>
  stripVTControlCharacters(text.replace(TERMINAL_STRINGS, ''))
    .replace(/\r\n?/g, '\n')
    .replace(/[\0-\x08\x0b-\x1f\x7f-\x9f]/g, '');
