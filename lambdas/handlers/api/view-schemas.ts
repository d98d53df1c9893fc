import { z } from 'zod';

/**
 * The shapes of the control API's answers (the `data` of each), as zod schemas: the views in
 * views.ts, log-views.ts and client-routes.ts are typed by them, and /v1/openapi.json describes
 * every answer with them, so that typed clients (the console, the CLI) can be generated from it.
 */

const nullable = <T extends z.ZodType>(t: T) => t.nullable();
const time = z.string().describe('ISO-8601, UTC');

export const projectSchema = z.object({
  name: z.string(),
  description: z.string(),
  id: z.string(),
  createdAt: time,
  updatedAt: time,
  rev: z.number(),
});

const source = z.object({
  repo: z.string(),
  branch: z.string().optional(),
  commit: z.string().optional(),
  subfolder: z.string().optional(),
});
const buildSettings = z.object({
  buildCommand: z.string().optional(),
  startCommand: z.string().optional(),
  port: z.number().optional(),
  outputDir: z.string().optional(),
  dockerfile: z.string().optional(),
  buildArgs: z.record(z.string(), z.string()),
});
const variableSpec = z.object({ default: z.string().optional(), required: z.boolean().optional() });
const blockType = z.enum(['website', 'microservice', 'custom-service', 'job']);
const blockKind = z.enum(['static', 'static-build', 'dynamic', 'pre-deploy', 'post-deploy', 'cron']);

export const blockSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  type: blockType,
  kind: blockKind.optional(),
  schedule: z.string().optional(),
  source,
  build: buildSettings,
  variables: z.record(z.string(), variableSpec),
  rev: z.number(),
  createdAt: time,
  updatedAt: time,
});

export const buildSchema = z.object({
  id: z.string(),
  block: z.string(),
  status: z.enum(['queued', 'running', 'succeeded', 'failed']),
  commit: nullable(z.string()),
  source,
  settings: buildSettings,
  error: nullable(z.string()),
  createdAt: time,
  startedAt: nullable(time),
  finishedAt: nullable(time),
  durationMs: nullable(z.number()),
});

export const environmentSchema = z.object({
  name: z.string(),
  id: z.string(),
  status: z.enum(['active', 'shut-down']),
  gatewayUrl: nullable(z.string()),
  running: nullable(z.object({ deploymentId: z.string(), release: z.string(), at: time })),
  deploying: nullable(z.object({ deploymentId: z.string(), since: time })),
  clonedFrom: nullable(z.string()),
  createdAt: time,
  updatedAt: time,
  rev: z.number(),
});

export const clientSchema = z.object({ clientId: z.string(), name: nullable(z.string()), createdAt: time, rotatedAt: nullable(time) });
export const issuedClientSchema = clientSchema.extend({ secret: z.string().describe('shown only in this answer') });
export const createdEnvironmentSchema = environmentSchema.extend({ client: issuedClientSchema.optional() });

/** A variable's value as answers show it: plain text, or that a secret one is set. */
const variableValue = z.union([z.string(), z.object({ secret: z.literal(true), updatedAt: time })]);

export const resolvedConfigSchema = z.object({
  variables: z.record(z.string(), variableValue),
  memoryMb: z.number(),
  visibility: z.enum(['protected', 'public', 'internal']),
  basicAuth: nullable(z.object({ username: z.string(), passwordSet: z.literal(true) })),
  timeoutSeconds: z.number().optional(),
  idleTimeoutSeconds: z.number().optional().describe('custom services: seconds with no open connection before the service stops'),
  alwaysOn: z.boolean().optional().describe('custom services: never stopped for being idle'),
});

export const blockConfigSchema = resolvedConfigSchema.extend({
  block: z.string(),
  environment: z.string(),
  overrides: z.record(z.string(), variableValue),
  missingRequired: z.array(z.string()),
  rev: z.number(),
  updatedAt: nullable(time),
});

const dataFolder = z.object({
  environment: z.string(),
  environmentId: z.string().describe('what DELETE /v1/kept-data/{environmentId} takes once the environment is deleted'),
  block: z.string(),
  location: z.string().describe('locally a folder under KINTO_HOME'),
});
export const keptDataSchema = z.object({
  environmentId: z.string().describe('the deleted environment (its name may since have been given to a new one)'),
  block: z.string(),
  location: z.string().describe('locally a folder under KINTO_HOME; on AWS efs://<file system>/kinto/<environment id>/<block>'),
});
export const deletionSchema = z.object({
  keptData: z.array(dataFolder).describe("custom services' data left where it is (the default)"),
  deletedData: z.array(dataFolder).describe('deleted, as the request asked ("deleteData": true)'),
  message: z.string(),
});

export const releaseSchema = z.object({
  version: z.string(),
  notes: z.string(),
  createdAt: time,
  blocks: z.array(
    z.object({
      blockId: z.string(),
      name: z.string(),
      type: blockType,
      kind: blockKind.optional(),
      schedule: z.string().optional(),
      source,
      build: buildSettings,
      variables: z.record(z.string(), variableSpec),
      buildId: z.string().optional(),
      commit: z.string().optional(),
    }),
  ),
});

const stepStatus = z.enum(['pending', 'running', 'succeeded', 'failed', 'skipped']);

export const deploymentSchema = z.object({
  id: z.string(),
  release: z.string(),
  action: z.enum(['deploy', 'rollback', 'promote']),
  promotedFrom: nullable(z.string()),
  tagged: z.boolean(),
  status: z.enum(['in-progress', 'succeeded', 'failed']),
  error: nullable(z.string()),
  failedStep: nullable(z.string()),
  failedJobs: z.array(z.string()),
  steps: z.array(
    z.object({
      id: z.string(),
      kind: z.enum(['prepare', 'pre-deploy', 'switch', 'post-deploy']),
      block: nullable(z.string()),
      status: stepStatus,
      startedAt: nullable(time),
      endedAt: nullable(time),
      message: nullable(z.string()),
      runId: nullable(z.string()),
    }),
  ),
  createdAt: time,
  updatedAt: time,
  finishedAt: nullable(time),
  config: z.record(z.string(), resolvedConfigSchema),
});

export const jobRunSchema = z.object({
  id: z.string(),
  job: z.string(),
  trigger: z.enum(['pre-deploy', 'post-deploy', 'cron', 'manual']),
  release: z.string(),
  deploymentId: nullable(z.string()),
  status: z.enum(['running', 'succeeded', 'failed', 'timed-out', 'skipped']),
  startedAt: time,
  endedAt: nullable(time),
  durationMs: nullable(z.number()),
  exitCode: nullable(z.number()),
  reason: nullable(z.string()),
});

export const jobSchema = z.object({
  name: z.string(),
  kind: z.enum(['pre-deploy', 'post-deploy', 'cron']),
  schedule: nullable(z.string()),
  nextRuns: z.array(time),
  timeoutSeconds: z.number(),
  lastRun: nullable(jobRunSchema),
});

const fieldChange = z.object({ field: z.string(), from: z.unknown(), to: z.unknown() });
const variableChange = z.object({
  name: z.string(),
  secret: z.literal(true).optional(),
  from: z.string().optional(),
  to: z.string().optional(),
});
export const comparisonSchema = z.object({
  from: nullable(z.object({ release: z.string(), deploymentId: z.string() })),
  to: z.object({ release: z.string(), promotedFrom: z.string().optional() }),
  blocks: z.object({
    added: z.array(z.string()),
    removed: z.array(z.string()),
    changed: z.array(z.object({ block: z.string(), changes: z.array(fieldChange) })),
    unchanged: z.array(z.string()),
  }),
  config: z.array(
    z.object({
      block: z.string(),
      variables: z.object({ added: z.array(variableChange), removed: z.array(variableChange), changed: z.array(variableChange) }),
      settings: z.array(fieldChange),
    }),
  ),
});

export const requestSchema = z.object({
  requestId: z.string(),
  time,
  method: z.string(),
  path: z.string(),
  block: nullable(z.string()),
  release: nullable(z.string()),
  commit: nullable(z.string()),
  status: z.number(),
  durationMs: z.number(),
  clientId: nullable(z.string()),
});

const lineStream = z.enum(['stdout', 'stderr', 'platform']);
export const consoleLineSchema = z.object({
  time,
  block: z.string(),
  release: nullable(z.string()),
  stream: lineStream,
  log: z.unknown().optional().describe('the JSON object the block logged'),
  text: z.string().optional().describe('the line as logged, when it was cut'),
  truncated: z.literal(true).optional(),
});
export const requestDetailSchema = z.object({
  requestId: z.string(),
  access: nullable(requestSchema),
  consoleLines: z.array(consoleLineSchema),
});

export const instanceLineSchema = z.object({
  time,
  stream: lineStream,
  text: z.string(),
  release: nullable(z.string()),
  truncated: z.literal(true).optional(),
  report: z
    .object({
      lambdaRequestId: z.string(),
      durationMs: z.number(),
      billedDurationMs: z.number(),
      memorySizeMb: z.number(),
      maxMemoryUsedMb: z.number(),
      initDurationMs: z.number().optional(),
    })
    .optional(),
});

const minuteMetrics = z.object({
  requests: z.number(),
  errors4xx: z.number(),
  errors5xx: z.number(),
  p50Ms: nullable(z.number()),
  p95Ms: nullable(z.number()),
  p99Ms: nullable(z.number()),
  avgMs: nullable(z.number()),
  maxMs: nullable(z.number()),
  coldStarts: z.number(),
  coldStartAvgMs: nullable(z.number()),
});
export const metricsSchema = z.object({
  from: time,
  to: time,
  blocks: z.array(
    z.object({ block: nullable(z.string()), total: minuteMetrics, minutes: z.array(minuteMetrics.extend({ minute: z.string() })) }),
  ),
});

export type ProjectView = z.infer<typeof projectSchema>;
export type BuildViewShape = z.infer<typeof buildSchema>;
export type EnvironmentViewShape = z.infer<typeof environmentSchema>;
export type BlockConfigViewShape = z.infer<typeof blockConfigSchema>;
export type DeploymentViewShape = z.infer<typeof deploymentSchema>;
export type JobRunViewShape = z.infer<typeof jobRunSchema>;
export type RequestViewShape = z.infer<typeof requestSchema>;
export type ClientViewShape = z.infer<typeof clientSchema>;
export type DeletionViewShape = z.infer<typeof deletionSchema>;
