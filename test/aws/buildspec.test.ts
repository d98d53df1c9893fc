import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILD_VARIABLES, EXPORTED_VARIABLES } from '../../lambdas/adapters/aws/codebuild-variables';

const BUILDSPEC = readFileSync(join(__dirname, '..', '..', 'buildspec.yml'), 'utf8');
const REPOSITORY = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/kinto-blocks';
const COMMIT = 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00';
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const JOB_RUNNER_URL = 's3://cdk-assets-123456789012-eu-west-1/0f1e2d3c.js';
const REQUEST_GUARD_URL = 's3://cdk-assets-123456789012-eu-west-1/4a5b6c7d.js';

/**
 * The commands of each phase, in order (the file's own layout: `- |` blocks and one-line items).
 * A small reader for this file, not a YAML parser.
 */
function phases(): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const lines = BUILDSPEC.split('\n');
  let phase: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const phaseMatch = /^ {2}(\w+):\s*$/.exec(line);
    if (phaseMatch && lines.slice(0, i).some((l) => l === 'phases:')) {
      phase = phaseMatch[1]!;
      out[phase] = [];
      continue;
    }
    if (!phase) continue;
    if (/^ {6}- \|\s*$/.test(line)) {
      const block: string[] = [];
      while (i + 1 < lines.length && (/^ {8}/.test(lines[i + 1]) || lines[i + 1] === '')) block.push(lines[++i].slice(8));
      out[phase].push(block.join('\n').trim());
    } else if (/^ {6}- /.test(line)) {
      out[phase].push(line.slice(8));
    }
  }
  return out;
}

/** Stubs for the tools CodeBuild provides: they record what they were asked, and answer like the real ones. */
function stubs(dir: string, fixture: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const script = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/usr/bin/env bash\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  // docker: one NUL-separated record per call; `build` keeps a copy of the Dockerfile it was given
  // and the file names of its context. `inspect` of an image's config answers $STUB_ENTRYPOINT and
  // $STUB_CMD (JSON, default null); `run` fails when one of its arguments is a word of $STUB_RUN_FAILS.
  script(
    'docker',
    `printf '%s\\0' "$@" >> "${dir}/docker.calls"; printf '\\n' >> "${dir}/docker.calls"
if [ "$1" = login ]; then
  cat > /dev/null  # reads the password from stdin, as docker login --password-stdin does
elif [ "$1" = build ]; then
  n="$(ls "${dir}" | grep -c '^Dockerfile')"; ls -A "\${@: -1}" > "${dir}/context.$n"
  if [ -f "\${@: -1}/kinto-request-guard" ]; then cp "\${@: -1}/kinto-request-guard" "${dir}/guard.$n"; stat -c '%a' "\${@: -1}/kinto-request-guard" > "${dir}/guardmode.$n"; fi
  while [ $# -gt 0 ]; do if [ "$1" = --file ]; then cp "$2" "${dir}/Dockerfile.$n"; fi; shift; done
elif [ "$1" = inspect ] && [ "$3" = '{{json .Config.Entrypoint}}' ]; then
  echo "\${STUB_ENTRYPOINT:-null}"
elif [ "$1" = inspect ] && [ "$3" = '{{json .Config.Cmd}}' ]; then
  echo "\${STUB_CMD:-null}"
elif [ "$1" = inspect ]; then
  echo "other.example/repo@sha256:${'00'.repeat(32)}"; echo "${REPOSITORY}@${DIGEST}"
elif [ "$1" = run ]; then
  for word in \${STUB_RUN_FAILS:-}; do for a in "$@"; do if [ "$a" = "$word" ]; then echo "exec $word: no such file or directory" >&2; exit 127; fi; done; done
fi`,
  );
  // aws: `s3 cp` writes a stand-in for the program (job runner, request guard) where it was asked to.
  script(
    'aws',
    `if [ "$1" = s3 ]; then printf '%s\\0' "$@" >> "${dir}/aws.calls"; printf '\\n' >> "${dir}/aws.calls"; printf '#!/opt/kinto/node\\n// program\\n' > "\${@: -1}"; exit 0; fi
echo password`,
  );
  // git: clone copies the fixture; rev-parse answers the fixed commit.
  script(
    'git',
    `if [ "$1" = clone ]; then dest="\${@: -1}"; cp -R "${fixture}" "$dest"; exit 0; fi
for a in "$@"; do if [ "$a" = rev-parse ]; then echo "${COMMIT}"; exit 0; fi; done
exit 0`,
  );
  return bin;
}

interface Run {
  readonly status: number;
  readonly output: string;
  readonly exported: Record<string, string>;
  /** Each docker call's arguments. */
  readonly docker: string[][];
  /** Dockerfiles passed to `docker build`, in order. */
  readonly dockerfiles: string[];
  /** The file names in each `docker build`'s context, in order. */
  readonly contexts: string[][];
  /** Each `aws s3` call's arguments. */
  readonly s3: string[][];
  /** The request guard file in each build context that had one, in order, and its mode. */
  readonly guards: string[];
  readonly guardModes: string[];
}

/** Runs the phases as CodeBuild does: one bash session, a phase stops at its first failing command. */
function runBuildspec(variables: Record<string, string>, fixture: (root: string) => void): Run {
  const dir = mkdtempSync(join(tmpdir(), 'kinto-buildspec-'));
  try {
    const repo = join(dir, 'repo');
    mkdirSync(repo);
    fixture(repo);
    const bin = stubs(dir, repo);
    const steps = Object.entries(phases()).flatMap(([phase, commands]) =>
      commands.map((c) => `${c}\nif [ $? -ne 0 ]; then echo "PHASE ${phase} FAILED"; exit 1; fi`),
    );
    const script = [
      ...steps,
      `echo "EXPORTED ${Object.values(EXPORTED_VARIABLES)
        .map((v) => `${v}=$${v}`)
        .join(' ')}"`,
    ].join('\n');
    const env = {
      PATH: `${bin}:${process.env.PATH}`,
      HOME: dir,
      KINTO_WORK: join(dir, 'work'),
      KINTO_IMAGE_REPOSITORY: REPOSITORY,
      KINTO_BASE_IMAGE: 'public.ecr.aws/docker/library/node:22-bookworm-slim',
      KINTO_LAMBDA_ADAPTER_IMAGE: 'public.ecr.aws/awsguru/aws-lambda-adapter:0.9.1',
      KINTO_JOB_RUNNER_S3_URL: JOB_RUNNER_URL,
      KINTO_REQUEST_GUARD_S3_URL: REQUEST_GUARD_URL,
      KINTO_BUILD_ID: 'build0001',
      KINTO_BLOCK_ID: 'block0001',
      KINTO_BLOCK_TYPE: '',
      KINTO_REPO: 'https://git.example/acme/shop.git',
      KINTO_BRANCH: '',
      KINTO_COMMIT_REF: '',
      KINTO_SUBFOLDER: '',
      KINTO_DOCKERFILE: '',
      KINTO_BUILD_COMMAND: '',
      KINTO_START_COMMAND: '',
      KINTO_OUTPUT_DIR: '',
      KINTO_APP_PORT: '',
      KINTO_BUILD_ARGS: '{}',
      ...variables,
    };
    const result = spawnSync('bash', ['-c', script], { env, encoding: 'utf8', timeout: 20_000 });
    const output = `${result.stdout}${result.stderr}`;
    const exportedLine = /EXPORTED (.*)/.exec(result.stdout)?.[1] ?? '';
    const exported = Object.fromEntries(
      exportedLine
        .split(' ')
        .filter(Boolean)
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
    const calls = (file: string) =>
      (existsSync(join(dir, file)) ? readFileSync(join(dir, file), 'utf8') : '')
        .split('\0\n')
        .filter(Boolean)
        .map((c) => c.split('\0'));
    const numbered = (prefix: string) =>
      readdirSync(dir)
        .filter((f) => f.startsWith(`${prefix}.`))
        .sort((a, b) => Number(a.slice(prefix.length + 1)) - Number(b.slice(prefix.length + 1)))
        .map((f) => readFileSync(join(dir, f), 'utf8'));
    const dockerfiles = numbered('Dockerfile');
    const contexts = numbered('context').map((listing) => listing.split('\n').filter(Boolean));
    return {
      status: result.status ?? -1,
      output,
      exported,
      docker: calls('docker.calls'),
      dockerfiles,
      contexts,
      s3: calls('aws.calls'),
      guards: numbered('guard'),
      guardModes: numbered('guardmode').map((m) => m.trim()),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('buildspec.yml', () => {
  it('reads every variable the CodeBuild builder sets, and exports what build-events reads', () => {
    for (const name of Object.values(BUILD_VARIABLES))
      expect({ name, used: BUILDSPEC.includes(`$${name}`) || BUILDSPEC.includes(`\${${name}`) }).toEqual({ name, used: true });
    const exported = /exported-variables:\n((?: {4}- .*\n)+)/
      .exec(BUILDSPEC)![1]
      .split('\n')
      .filter(Boolean)
      .map((l) => l.replace(/^ {4}- /, ''));
    expect(exported.sort()).toEqual(Object.values(EXPORTED_VARIABLES).sort());
    expect(Object.keys(phases())).toEqual(['pre_build', 'build', 'post_build']);
  });

  it('generates a Dockerfile from the commands, passes build arguments verbatim, pushes both tags and exports commit and digest', () => {
    const tricky = 'a "quoted" value with $HOME, `backticks`, spaces and\na newline';
    const run = runBuildspec(
      {
        KINTO_SUBFOLDER: 'services/api',
        KINTO_BUILD_COMMAND: 'npm ci && npm run build',
        KINTO_START_COMMAND: 'node dist/server.js --port $PORT',
        KINTO_APP_PORT: '3000',
        KINTO_BUILD_ARGS: JSON.stringify({ NODE_ENV: 'production', TRICKY: tricky, 'BAD NAME': 'ignored' }),
      },
      (root) => mkdirSync(join(root, 'services', 'api'), { recursive: true }),
    );

    expect(run.output).not.toMatch(/FAILED/);
    expect(run.status).toBe(0);
    expect(run.exported).toEqual({ KINTO_COMMIT: COMMIT, KINTO_IMAGE: `${REPOSITORY}@${DIGEST}` });

    const build = run.docker.find((c) => c[0] === 'build')!;
    const buildArgs = build.flatMap((a, i) => (build[i - 1] === '--build-arg' ? [a] : []));
    expect(buildArgs).toEqual([
      'NODE_ENV=production',
      `TRICKY=${tricky}`,
      'KINTO_BUILD_COMMAND=npm ci && npm run build',
      'KINTO_START_COMMAND=node dist/server.js --port $PORT',
      'KINTO_OUTPUT_DIR=',
      'KINTO_APP_PORT=3000',
    ]);
    expect(build).toContain(`${REPOSITORY}:block0001-${COMMIT}`);
    expect(build[build.length - 1]).toMatch(/\/services\/api$/);

    const [dockerfile] = run.dockerfiles;
    expect(dockerfile).toContain('FROM public.ecr.aws/docker/library/node:22-bookworm-slim');
    expect(dockerfile).toContain(
      'COPY --from=public.ecr.aws/awsguru/aws-lambda-adapter:0.9.1 /lambda-adapter /opt/extensions/lambda-adapter',
    );
    expect(dockerfile).toContain('ARG NODE_ENV\nARG TRICKY\n');
    expect(dockerfile).not.toContain('BAD NAME');
    expect(dockerfile).toContain('ENV PORT=${KINTO_APP_PORT} AWS_LWA_PORT=${KINTO_APP_PORT}');
    expect(dockerfile).toContain('CMD ["/bin/sh", "-c", "exec /bin/sh -c \\"$KINTO_START_COMMAND\\""]');

    const pushes = run.docker.filter((c) => c[0] === 'push').map((c) => c[c.length - 1]);
    expect(pushes).toEqual([`${REPOSITORY}:build-build0001`, `${REPOSITORY}:block0001-${COMMIT}`]);
  });

  it("adds the Lambda Web Adapter on top of a block's own Dockerfile", () => {
    const run = runBuildspec({ KINTO_DOCKERFILE: 'docker/Dockerfile' }, (root) => {
      mkdirSync(join(root, 'docker'));
      writeFileSync(join(root, 'docker', 'Dockerfile'), 'FROM postgres:17\n');
    });

    expect(run.status).toBe(0);
    const builds = run.docker.filter((c) => c[0] === 'build');
    expect(builds).toHaveLength(2);
    expect(builds[0]).toContain('kinto-block');
    expect(run.dockerfiles[0]).toBe('FROM postgres:17\n');
    expect(run.dockerfiles[1]).toBe(
      'FROM kinto-block\nCOPY --from=public.ecr.aws/awsguru/aws-lambda-adapter:0.9.1 /lambda-adapter /opt/extensions/lambda-adapter\nARG KINTO_APP_PORT\nENV PORT=${KINTO_APP_PORT} AWS_LWA_PORT=${KINTO_APP_PORT}\n',
    );
    expect(builds[1]).toContain('KINTO_APP_PORT=8080');
    expect(run.exported.KINTO_IMAGE).toBe(`${REPOSITORY}@${DIGEST}`);
  });

  it('serves a static website from its output folder when it has no start command', () => {
    const run = runBuildspec({ KINTO_BUILD_COMMAND: 'npm run build', KINTO_OUTPUT_DIR: 'dist' }, () => undefined);
    expect(run.status).toBe(0);
    expect(run.dockerfiles[0]).toContain('RUN npm install --global serve@14.2.4');
    expect(run.dockerfiles[0]).toContain(
      'KINTO_START_COMMAND="serve --no-clipboard --single --listen tcp://0.0.0.0:\\$PORT \\$KINTO_OUTPUT_DIR"',
    );
  });

  it('fails before building when the sub-folder leads outside the repository (symlink)', () => {
    const run = runBuildspec({ KINTO_SUBFOLDER: 'escape', KINTO_START_COMMAND: 'node server.js' }, (root) =>
      symlinkSync('/etc', join(root, 'escape')),
    );
    expect(run.status).toBe(1);
    expect(run.output).toMatch(/the sub-folder "escape" does not exist at this commit or leads outside the repository/);
    expect(run.output).toMatch(/PHASE pre_build FAILED/);
    expect(run.docker.filter((c) => c[0] === 'build')).toEqual([]);
    expect(run.exported).toEqual({}); // the build stopped: nothing exported
  });

  it('fails with a clear reason when the block has nothing to run', () => {
    const run = runBuildspec({}, () => undefined);
    expect(run.status).toBe(1);
    expect(run.output).toMatch(/nothing to run: give the block a start command, an output folder \(websites\) or a Dockerfile/);
    expect(run.output).toMatch(/PHASE build FAILED/);
  });

  it('fails when a Dockerfile path leads outside the block folder', () => {
    const run = runBuildspec({ KINTO_SUBFOLDER: 'app', KINTO_DOCKERFILE: '../Dockerfile' }, (root) => {
      mkdirSync(join(root, 'app'));
      writeFileSync(join(root, 'Dockerfile'), 'FROM scratch\n');
    });
    expect(run.status).toBe(1);
    expect(run.output).toMatch(/the Dockerfile "..\/Dockerfile" does not exist in the block folder/);
  });
  describe("websites and microservices: Kinto's request guard on top", () => {
    const pushes = (run: Run) => run.docker.filter((c) => c[0] === 'push').map((c) => c[c.length - 1]);
    const builds = (run: Run) => run.docker.filter((c) => c[0] === 'build');
    const IMAGE = `${REPOSITORY}:block0001-${COMMIT}`;

    it("adds the guard as a Lambda extension to a generated image, on the base image's node, between the adapter and $PORT", () => {
      const run = runBuildspec(
        { KINTO_BLOCK_TYPE: 'microservice', KINTO_START_COMMAND: 'node server.js', KINTO_APP_PORT: '3000' },
        () => undefined,
      );

      expect(run.output).not.toMatch(/FAILED/);
      expect(run.status).toBe(0);
      expect(run.s3).toEqual([['s3', 'cp', '--quiet', REQUEST_GUARD_URL, expect.stringMatching(/\/work\/guard\/kinto-request-guard$/)]]);
      expect(builds(run)).toHaveLength(2);
      expect(builds(run)[0]).toContain('kinto-web');
      expect(run.dockerfiles[0]).toContain('/opt/extensions/lambda-adapter');
      expect(run.dockerfiles[1]).toBe(
        [
          'FROM kinto-web',
          'RUN mkdir -p /opt/kinto && ln -s /usr/local/bin/node /opt/kinto/node',
          'COPY kinto-request-guard /opt/extensions/kinto-request-guard',
          'ENV KINTO_GUARD_PORT=7071 AWS_LWA_PORT=7071',
          '',
        ].join('\n'),
      );
      expect(run.contexts[1].sort()).toEqual(['Dockerfile', 'kinto-request-guard']);
      // Lambda runs each executable file in /opt/extensions; COPY keeps the mode.
      expect(run.guardModes).toEqual(['755']);
      expect(builds(run)[1]).toContain(IMAGE);
      // The guard's node is tried in the built image before it is pushed.
      expect(run.docker.find((c) => c[0] === 'run')).toEqual(['run', '--rm', '--entrypoint', '/opt/kinto/node', IMAGE, '--version']);
      expect(pushes(run)).toEqual([`${REPOSITORY}:build-build0001`, IMAGE]);
      expect(run.exported).toEqual({ KINTO_COMMIT: COMMIT, KINTO_IMAGE: `${REPOSITORY}@${DIGEST}` });
    });

    it("copies the base image's node into a Dockerfile website, and takes another port when the block's is 7071", () => {
      const run = runBuildspec({ KINTO_BLOCK_TYPE: 'website', KINTO_DOCKERFILE: 'Dockerfile', KINTO_APP_PORT: '7071' }, (root) =>
        writeFileSync(join(root, 'Dockerfile'), 'FROM nginx:1\n'),
      );

      expect(run.status).toBe(0);
      expect(builds(run)).toHaveLength(3);
      expect(run.dockerfiles[1]).toContain('ENV PORT=${KINTO_APP_PORT} AWS_LWA_PORT=${KINTO_APP_PORT}');
      expect(builds(run)[1]).toContain('kinto-web');
      expect(run.dockerfiles[2]).toBe(
        [
          'FROM kinto-web',
          'COPY --from=public.ecr.aws/docker/library/node:22-bookworm-slim /usr/local/bin/node /opt/kinto/node',
          'COPY kinto-request-guard /opt/extensions/kinto-request-guard',
          'ENV KINTO_GUARD_PORT=7072 AWS_LWA_PORT=7072',
          '',
        ].join('\n'),
      );
      expect(pushes(run)).toEqual([`${REPOSITORY}:build-build0001`, IMAGE]);
    });

    it("runs the guard on the image's own node when the base image's cannot run in it (musl, e.g. alpine)", () => {
      const run = runBuildspec(
        { KINTO_BLOCK_TYPE: 'microservice', KINTO_DOCKERFILE: 'Dockerfile', STUB_RUN_FAILS: '/opt/kinto/node' },
        (root) => writeFileSync(join(root, 'Dockerfile'), 'FROM node:22-alpine\n'),
      );

      expect(run.status).toBe(0);
      expect(run.output).toMatch(
        /does not run in this image \(musl-based, e\.g\. alpine\?\): Kinto's request guard uses the image's own node/,
      );
      expect(run.docker.filter((c) => c[0] === 'run').map((c) => c.slice(3))).toEqual([
        ['/opt/kinto/node', IMAGE, '--version'],
        ['/usr/bin/env', 'kinto-web', 'node', '--version'],
      ]);
      expect(builds(run)).toHaveLength(4);
      expect(run.dockerfiles[3]).toBe(
        [
          'FROM kinto-web',
          'COPY kinto-request-guard /opt/extensions/kinto-request-guard',
          'ENV KINTO_GUARD_PORT=7071 AWS_LWA_PORT=7071',
          '',
        ].join('\n'),
      );
      expect(run.guards.map((g) => g.split('\n')[0])).toEqual(['#!/opt/kinto/node', '#!/usr/bin/env node']);
      expect(run.guards[1]).toContain('// program');
      expect(builds(run)[3]).toContain(IMAGE);
      expect(pushes(run)).toEqual([`${REPOSITORY}:build-build0001`, IMAGE]);
    });

    it('goes without the guard, and warns, when no node runs in the image', () => {
      const run = runBuildspec(
        { KINTO_BLOCK_TYPE: 'microservice', KINTO_DOCKERFILE: 'Dockerfile', STUB_RUN_FAILS: '/opt/kinto/node /usr/bin/env' },
        (root) => writeFileSync(join(root, 'Dockerfile'), 'FROM python:3-alpine\n'),
      );

      expect(run.status).toBe(0);
      expect(run.output).toMatch(
        /WARNING: neither node from .* nor a node of the image's own runs in this image: it goes without Kinto's request guard/,
      );
      const tag = run.docker.find((c) => c[0] === 'tag' && c[1] === 'kinto-web');
      expect(tag).toEqual(['tag', 'kinto-web', IMAGE]);
      expect(run.docker.indexOf(tag!)).toBeLessThan(run.docker.findIndex((c) => c[0] === 'push'));
      expect(pushes(run)).toEqual([`${REPOSITORY}:build-build0001`, IMAGE]);
    });

    it('adds no guard to custom services (Fargate: no Lambda, no adapter traffic)', () => {
      const run = runBuildspec({ KINTO_BLOCK_TYPE: 'custom-service', KINTO_START_COMMAND: 'redis-server --port $PORT' }, () => undefined);
      expect(run.status).toBe(0);
      expect(run.s3).toEqual([]);
      expect(run.dockerfiles).toHaveLength(1);
      expect(run.dockerfiles.join('\n')).not.toContain('kinto-request-guard');
    });
  });

  describe('job blocks (KINTO_BLOCK_TYPE=job)', () => {
    const JOB_RUNNER_LAYER = ['COPY job-runner.js /opt/kinto/job-runner.js'];
    const pushes = (run: Run) => run.docker.filter((c) => c[0] === 'push').map((c) => c[c.length - 1]);
    const builds = (run: Run) => run.docker.filter((c) => c[0] === 'build');

    it('builds a generated image without the Web Adapter and makes the job runner its entrypoint, with the start command as it is', () => {
      const run = runBuildspec(
        { KINTO_BLOCK_TYPE: 'job', KINTO_BUILD_COMMAND: 'npm ci', KINTO_START_COMMAND: 'node migrate.js --to "$TARGET"' },
        () => undefined,
      );

      expect(run.output).not.toMatch(/FAILED/);
      expect(run.status).toBe(0);
      // The runner comes from the build project's asset, into a folder of its own (the last build's context).
      expect(run.s3).toEqual([['s3', 'cp', '--quiet', JOB_RUNNER_URL, expect.stringMatching(/\/work\/job\/job-runner\.js$/)]]);
      expect(builds(run)).toHaveLength(2);
      expect(builds(run)[0]).toContain('kinto-block');
      expect(builds(run)[0]).toContain('KINTO_START_COMMAND=node migrate.js --to "$TARGET"');
      expect(run.dockerfiles[0]).not.toContain('lambda-adapter');
      expect(run.dockerfiles[0]).toContain('ENV KINTO_START_COMMAND="${KINTO_START_COMMAND}"');
      expect(run.dockerfiles[1]).toBe(
        ['FROM kinto-block', ...JOB_RUNNER_LAYER, 'ENTRYPOINT ["node", "/opt/kinto/job-runner.js"]', 'CMD []', ''].join('\n'),
      );
      expect(run.contexts[1].sort()).toEqual(['Dockerfile', 'job-runner.js']);
      expect(builds(run)[1]).toContain(`${REPOSITORY}:block0001-${COMMIT}`);
      expect(pushes(run)).toEqual([`${REPOSITORY}:build-build0001`, `${REPOSITORY}:block0001-${COMMIT}`]);
      expect(run.exported).toEqual({ KINTO_COMMIT: COMMIT, KINTO_IMAGE: `${REPOSITORY}@${DIGEST}` });
    });

    it("runs a Dockerfile image's own ENTRYPOINT + CMD as KINTO_JOB_COMMAND, with node copied from the base image", () => {
      const cmd = JSON.stringify(['node', 'migrate.js', "it's $HOME", 'a "b"']);
      const run = runBuildspec(
        { KINTO_BLOCK_TYPE: 'job', KINTO_DOCKERFILE: 'Dockerfile', STUB_ENTRYPOINT: '["docker-entrypoint.sh"]', STUB_CMD: cmd },
        (root) => writeFileSync(join(root, 'Dockerfile'), 'FROM node:22\nCMD ["node", "migrate.js"]\n'),
      );

      expect(run.output).not.toMatch(/FAILED/);
      expect(run.status).toBe(0);
      const jobCommand = JSON.stringify(['docker-entrypoint.sh', 'node', 'migrate.js', "it's $HOME", 'a "b"']);
      expect(builds(run)).toHaveLength(2);
      expect(builds(run)[1]).toEqual(expect.arrayContaining(['--build-arg', `KINTO_JOB_COMMAND=${jobCommand}`]));
      expect(run.dockerfiles[1]).toBe(
        [
          'FROM kinto-block',
          'COPY --from=public.ecr.aws/docker/library/node:22-bookworm-slim /usr/local/bin/node /opt/kinto/node',
          ...JOB_RUNNER_LAYER,
          'ARG KINTO_JOB_COMMAND',
          'ENV KINTO_JOB_COMMAND="${KINTO_JOB_COMMAND}"',
          'ENTRYPOINT ["/opt/kinto/node", "/opt/kinto/job-runner.js"]',
          'CMD []',
          '',
        ].join('\n'),
      );
      expect(run.dockerfiles.join('\n')).not.toContain('lambda-adapter');
      // The copied node is tried in the built image before it is pushed.
      const probe = run.docker.find((c) => c[0] === 'run')!;
      expect(probe).toEqual(['run', '--rm', '--entrypoint', '/opt/kinto/node', `${REPOSITORY}:block0001-${COMMIT}`, '--version']);
      expect(run.docker.findIndex((c) => c[0] === 'run')).toBeLessThan(run.docker.findIndex((c) => c[0] === 'push'));
      expect(pushes(run)).toEqual([`${REPOSITORY}:build-build0001`, `${REPOSITORY}:block0001-${COMMIT}`]);
    });

    it("uses the image's own node when the base image's cannot run in it (musl, e.g. alpine)", () => {
      const run = runBuildspec(
        { KINTO_BLOCK_TYPE: 'job', KINTO_DOCKERFILE: 'Dockerfile', STUB_CMD: '["node","migrate.js"]', STUB_RUN_FAILS: '/opt/kinto/node' },
        (root) => writeFileSync(join(root, 'Dockerfile'), 'FROM node:22-alpine\n'),
      );

      expect(run.status).toBe(0);
      expect(run.output).toMatch(/does not run in this image \(musl-based, e\.g\. alpine\?\): the job runner uses the image's own node/);
      expect(builds(run)).toHaveLength(3);
      expect(run.dockerfiles[2]).not.toContain('/opt/kinto/node');
      expect(run.dockerfiles[2]).toContain('ENTRYPOINT ["node", "/opt/kinto/job-runner.js"]');
      expect(run.dockerfiles[2]).toContain('ENV KINTO_JOB_COMMAND="${KINTO_JOB_COMMAND}"');
      expect(builds(run)[2]).toContain('KINTO_JOB_COMMAND=["node","migrate.js"]');
      expect(pushes(run)).toHaveLength(2);
    });

    it('fails with the fix when neither node runs in the image', () => {
      const run = runBuildspec(
        { KINTO_BLOCK_TYPE: 'job', KINTO_DOCKERFILE: 'Dockerfile', STUB_CMD: '["/migrate"]', STUB_RUN_FAILS: '/opt/kinto/node node' },
        (root) => writeFileSync(join(root, 'Dockerfile'), 'FROM alpine:3\n'),
      );

      expect(run.status).toBe(1);
      expect(run.output).toMatch(/the job runner cannot run in this image: .* install node in the image \(alpine: apk add nodejs\)/);
      expect(run.output).toMatch(/PHASE build FAILED/);
      expect(pushes(run)).toEqual([]);
    });

    it('fails when a Dockerfile image has neither ENTRYPOINT nor CMD', () => {
      const run = runBuildspec({ KINTO_BLOCK_TYPE: 'job', KINTO_DOCKERFILE: 'Dockerfile' }, (root) =>
        writeFileSync(join(root, 'Dockerfile'), 'FROM scratch\n'),
      );
      expect(run.status).toBe(1);
      expect(run.output).toMatch(/the Dockerfile "Dockerfile" has neither ENTRYPOINT nor CMD: give it the command the job runs/);
      expect(pushes(run)).toEqual([]);
    });

    it('fails when a job has neither a start command nor a Dockerfile (an output folder is not a job)', () => {
      const run = runBuildspec({ KINTO_BLOCK_TYPE: 'job', KINTO_OUTPUT_DIR: 'dist' }, () => undefined);
      expect(run.status).toBe(1);
      expect(run.output).toMatch(/nothing to run: give the job a start command \(the command it runs to its end\) or a Dockerfile/);
    });

    it('does not fetch the job runner for other blocks', () => {
      const run = runBuildspec({ KINTO_BLOCK_TYPE: 'microservice', KINTO_START_COMMAND: 'node server.js' }, () => undefined);
      expect(run.status).toBe(0);
      expect(run.s3.map((c) => c[3])).toEqual([REQUEST_GUARD_URL]);
      expect(run.dockerfiles[0]).toContain('/opt/extensions/lambda-adapter');
      expect(run.dockerfiles.join('\n')).not.toContain('job-runner');
    });
  });
});
