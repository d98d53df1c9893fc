/**
 * The contract between the CodeBuild builder, `buildspec.yml` and the build-events Lambda: the
 * names of the environment variables a Kinto build carries. `buildspec.yml` reads the same names
 * (a test keeps them in step).
 */
export const BUILD_VARIABLES = {
  /** Which Kinto build this CodeBuild build is: read back from build state change events. */
  buildId: 'KINTO_BUILD_ID',
  blockId: 'KINTO_BLOCK_ID',
  /** The block's type: a `job` gets the Kinto job runner as its Lambda runtime instead of the Web Adapter. */
  blockType: 'KINTO_BLOCK_TYPE',
  repo: 'KINTO_REPO',
  /** At most one of branch and commit is set; neither means the remote's default branch. */
  branch: 'KINTO_BRANCH',
  commit: 'KINTO_COMMIT_REF',
  subfolder: 'KINTO_SUBFOLDER',
  dockerfile: 'KINTO_DOCKERFILE',
  buildCommand: 'KINTO_BUILD_COMMAND',
  startCommand: 'KINTO_START_COMMAND',
  outputDir: 'KINTO_OUTPUT_DIR',
  port: 'KINTO_APP_PORT',
  /** The block's build arguments as one JSON object (names are checked by the core). */
  buildArgs: 'KINTO_BUILD_ARGS',
} as const;

/** What `buildspec.yml` exports when a build succeeds (CodeBuild `exported-variables`). */
export const EXPORTED_VARIABLES = {
  /** The commit sha the ref resolved to. */
  commit: 'KINTO_COMMIT',
  /** The pushed image by digest: `<repository uri>@sha256:<hex>`. */
  image: 'KINTO_IMAGE',
} as const;
