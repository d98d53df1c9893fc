import { Cron } from 'croner';
import { z } from 'zod';
import { MAX_NAME_LENGTH } from './names';
import { parseCommand } from './parse-command';

/**
 * Shapes of what callers send, validated with zod before the core acts. Unknown keys are refused
 * (a typo such as `buildComand` should fail loudly, not be ignored).
 */

const name = z.string().min(1).max(MAX_NAME_LENGTH);
export const variableName = z
  .string()
  .max(128)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'use letters, digits and underscores, not starting with a digit (e.g. "API_KEY")')
  .refine((v) => !v.toUpperCase().startsWith('KINTO_'), 'names starting with KINTO_ are set by the platform');
/**
 * A block's own variable: neither PORT (the platform gives each block its port) nor AWS_LWA_* (on
 * AWS they route the Web Adapter to Kinto's request guard; a block's value would bypass it).
 */
const blockVariableName = variableName.refine(
  (v) => v.toUpperCase() !== 'PORT' && !v.toUpperCase().startsWith('AWS_LWA_'),
  'PORT and names starting with AWS_LWA_ are set by the platform (the block listens on $PORT); choose another name',
);
// The OS passes environment variables as C strings: a NUL would cut the value (or fail every start).
const variableValue = z
  .string()
  .max(32_768)
  .refine((v) => !v.includes('\0'), 'must not contain a NUL character (\\u0000): environment variables cannot hold one; remove it');
const text = (max: number) => z.string().max(max);

/** A path inside the repo: relative, no `..`, no leading `-`, plain characters. */
const relativePath = z
  .string()
  .min(1)
  .max(255)
  .regex(/^(?!\/)(?!-)[A-Za-z0-9._@+\-/]+$/, 'use a relative path of letters, digits and . _ - / (e.g. "services/api")')
  .refine((p) => p.split('/').every((s) => s !== '..' && s !== '.' && s !== ''), 'must not contain "..", "." or empty segments');

/** A password or token in a repo URL: `scheme://user:password@`, `https://token@`, `user:password@host:path`. */
function carriesCredentials(url: string): boolean {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)@/.exec(url);
  if (scheme) return scheme[2].includes(':') || /^https?$/i.test(scheme[1]);
  return /^[^/@:]+:[^/@]*@/.test(url);
}

/**
 * Git URLs that reach a repository without running anything: http(s), ssh, git, file URLs,
 * scp-like `user@host:path`, or an absolute local path. Transports such as `ext::` run commands
 * and are refused, and so are URLs that carry a password or token: Kinto would store and show it.
 */
export const gitRepo = z
  .string()
  .min(1)
  .max(2048)
  .refine((v) => !/[\0-\x1f\x7f]/.test(v), 'must not contain control characters')
  .refine((v) => !carriesCredentials(v), {
    message:
      'must not carry a password or token (user:password@ or token@): Kinto would store and show it in clear. Give git its credentials where Kinto runs instead: an SSH URL (git@github.com:org/repo.git) with a deploy key in ~/.ssh, or an https URL and a git credential helper (git help credentials)',
    abort: true,
  })
  .refine(
    (v) => /^(https?|ssh|git|file):\/\/[^\s]+$/.test(v) || /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s-][^\s]*$/.test(v) || /^\/[^\s]*$/.test(v),
    'use an https://, ssh://, git:// or file:// URL, user@host:path, or an absolute local path',
  );

/** A branch name as `git check-ref-format --branch` accepts it, minus option-like values. */
export const gitBranch = z
  .string()
  .min(1)
  .max(255)
  .regex(
    /^(?![-/.])(?!.*\.\.)(?!.*@\{)(?!.*\/\/)(?!.*\/\.)(?!.*\.lock$)[A-Za-z0-9._\/+-]+(?<![./])$/,
    'use a git branch name such as "main" or "release/1.x"',
  );
export const gitCommit = z.string().regex(/^[0-9a-f]{7,40}$/, 'use a commit sha: 7 to 40 lower-case hex digits');

const command = (what: string) =>
  z
    .string()
    .min(1)
    .max(2048)
    .superRefine((value, ctx) => {
      try {
        parseCommand(value, {}, what);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message });
      }
    });

export const cronSchedule = z
  .string()
  .max(128)
  .superRefine((value, ctx) => {
    if (value.trim().split(/\s+/).length !== 5) {
      ctx.addIssue({
        code: 'custom',
        message: 'use a 5-field cron expression (minute hour day-of-month month day-of-week, UTC), e.g. "0 3 * * *"',
      });
      return;
    }
    try {
      const job = new Cron(value, { paused: true, timezone: 'UTC' });
      const next = job.nextRun();
      job.stop();
      if (!next) ctx.addIssue({ code: 'custom', message: `the schedule "${value}" never fires` });
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: `not a valid cron expression: ${(e as Error).message}` });
    }
  });

export const blockSourceInput = z
  .strictObject({
    repo: gitRepo,
    branch: gitBranch.optional(),
    commit: gitCommit.optional(),
    subfolder: relativePath.optional(),
  })
  .refine((s) => !(s.branch && s.commit), { message: 'set either branch or commit, not both' });

export const buildSettingsInput = z.strictObject({
  buildCommand: command('build command').optional(),
  startCommand: command('start command').optional(),
  port: z.number().int().min(1).max(65535).optional(),
  outputDir: relativePath.optional(),
  dockerfile: relativePath.optional(),
  buildArgs: z.record(variableName, variableValue).optional(),
});

export const variableSpecInput = z.strictObject({
  default: variableValue.optional(),
  required: z.boolean().optional(),
});

const blockFields = {
  description: text(1024).optional(),
  type: z.enum(['website', 'microservice', 'custom-service', 'job']),
  kind: z.enum(['static', 'static-build', 'dynamic', 'pre-deploy', 'post-deploy', 'cron']).optional(),
  schedule: cronSchedule.optional(),
  source: blockSourceInput,
  build: buildSettingsInput.optional(),
  variables: z.record(blockVariableName, variableSpecInput).optional(),
};

export const createBlockInput = z.strictObject({ name, ...blockFields });
export type CreateBlockInput = z.infer<typeof createBlockInput>;

/** PATCH: any field but the name; the merged block is checked again as a whole. */
export const updateBlockInput = z
  .strictObject({
    description: blockFields.description,
    type: blockFields.type.optional(),
    kind: blockFields.kind.nullable(),
    schedule: blockFields.schedule.nullable(),
    source: blockSourceInput.optional(),
    build: buildSettingsInput.optional(),
    variables: blockFields.variables,
  })
  .partial();
export type UpdateBlockInput = z.infer<typeof updateBlockInput>;

export const createProjectInput = z.strictObject({ name, description: text(1024).optional() });
export type CreateProjectInput = z.infer<typeof createProjectInput>;
export const updateProjectInput = z.strictObject({ description: text(1024) });
export type UpdateProjectInput = z.infer<typeof updateProjectInput>;
export const deleteProjectInput = z
  .strictObject({
    confirm: z.string().max(MAX_NAME_LENGTH * 4),
    deleteData: z.boolean().optional().describe("also delete the custom services' data of its environments (kept by default)"),
  })
  .optional();

export const createEnvironmentInput = z.strictObject({ name, cloneFrom: name.optional() });
export type CreateEnvironmentInput = z.infer<typeof createEnvironmentInput>;
export const deleteEnvironmentInput = z.strictObject({
  confirm: z.string().max(MAX_NAME_LENGTH * 4),
  deleteData: z.boolean().optional().describe("also delete its custom services' data (kept by default)"),
});

export const deleteKeptDataInput = z.strictObject({ confirm: z.string().max(MAX_NAME_LENGTH * 4) }).optional();

export const MIN_MEMORY_MB = 128;
export const MAX_MEMORY_MB = 10_240;
export const DEFAULT_MEMORY_MB = 512;

/** Longest a job may run: Lambda's limit, so that a job behaves the same on AWS. */
export const MAX_JOB_TIMEOUT_SECONDS = 900;

/** A custom service's idle time when its configuration sets none: 5 minutes. */
export const DEFAULT_SERVICE_IDLE_SECONDS = 300;
export const MAX_SERVICE_IDLE_SECONDS = 24 * 3600;

/**
 * A variable's value: plain text, `{"secret": "<value>"}` to set a secret one (sealed, never shown
 * again), or `{"secret": true}` to keep the secret already set (what GET shows for it).
 */
const variableSetting = z.union([
  variableValue,
  z.strictObject(
    { secret: z.union([variableValue, z.literal(true)]) },
    { error: 'use a text value, {"secret": "<value>"} or {"secret": true}' },
  ),
]);
export type VariableSetting = z.infer<typeof variableSetting>;

export const blockConfigInput = z.strictObject({
  variables: z.record(blockVariableName, variableSetting).optional(),
  memoryMb: z.number().int().min(MIN_MEMORY_MB).max(MAX_MEMORY_MB).optional(),
  timeoutSeconds: z.number().int().min(1).max(MAX_JOB_TIMEOUT_SECONDS).optional(),
  idleTimeoutSeconds: z.number().int().min(1).max(MAX_SERVICE_IDLE_SECONDS).optional(),
  alwaysOn: z.boolean().optional(),
  visibility: z.enum(['protected', 'public', 'internal']).optional(),
  basicAuth: z
    .strictObject({
      username: z
        .string()
        .min(1)
        .max(128)
        .regex(/^[^:\s]+$/, 'must not contain ":" or spaces'),
      password: z.string().min(8, 'use at least 8 characters').max(256),
    })
    .nullable()
    .optional(),
});
export type BlockConfigInput = z.infer<typeof blockConfigInput>;

export const tagReleaseInput = z.strictObject({
  version: z.string().max(64),
  notes: text(4096).optional(),
  /** Per block: the build to pin (default: the block's newest succeeded build). */
  blocks: z.record(name, z.strictObject({ build: z.string().min(1).max(64) })).optional(),
});
export type TagReleaseInput = z.infer<typeof tagReleaseInput>;

/** Deploy a release (`release`), or Tag & Deploy (`tag`: freeze the project as a new release and deploy it). */
export const deployInput = z.union(
  [
    z.strictObject({ release: z.string().max(64) }),
    z.strictObject({ tag: z.strictObject({ version: z.string().max(64), notes: text(4096).optional() }) }),
  ],
  {
    error:
      'send {"release": "<version>"} to deploy a release, or {"tag": {"version": "<MAJOR.MINOR.REVISION>", "notes": "..."}} to tag and deploy',
  },
);
export type DeployInput = z.infer<typeof deployInput>;
export const promoteInput = z.strictObject({ from: name });
