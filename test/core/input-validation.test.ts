import { parseCommand } from '../../lambdas/core/parse-command';
import { describeZodError } from '../../lambdas/handlers/http/http-errors';
import { KintoError } from '../../lambdas/core/errors';
import { blockConfigInput, blockSourceInput, createBlockInput, cronSchedule, gitBranch, gitRepo } from '../../lambdas/core/request-schemas';
import { assertName } from '../../lambdas/core/names';
import { compareReleaseVersions, parseReleaseVersion, releaseSortKey } from '../../lambdas/core/release-version';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (e) {
    return (e as KintoError).code;
  }
};

describe('Function: assertName', () => {
  it.each(['a', 'shop', 'my-api-2', 'x'.repeat(32)])('accepts %p', (name) => {
    expect(assertName('project', name)).toBe(name);
  });

  it.each(['', 'Shop', '2fast', '-a', 'a-', 'a--b', 'a_b', 'ünïcode', 'a b', 'x'.repeat(33), 'a/b', '..'])(
    'refuses %p with INVALID_NAME',
    (name) => {
      expect(codeOf(() => assertName('block', name))).toBe('INVALID_NAME');
    },
  );

  it('suggests a valid name', () => {
    expect(() => assertName('project', 'My Shop')).toThrow(/e\.g\. "my-shop"/);
  });

  it('reserves gateway route names for blocks only', () => {
    expect(codeOf(() => assertName('block', 'authorize'))).toBe('INVALID_NAME');
    expect(assertName('project', 'authorize')).toBe('authorize');
  });
});

describe('Function: parseReleaseVersion', () => {
  it('parses MAJOR.MINOR.REVISION', () => {
    expect(parseReleaseVersion('1.20.3')).toEqual({ major: 1, minor: 20, revision: 3 });
  });

  it.each(['1.0', '1.0.0.0', '01.0.0', 'v1.0.0', '1.0.-1', '1.0.0-beta', '', ' 1.0.0', '1234567.0.0'])('refuses %p', (v) => {
    expect(codeOf(() => parseReleaseVersion(v))).toBe('INVALID_VERSION');
  });

  it('sorts by version, not by text', () => {
    const versions = ['1.10.0', '1.2.0', '0.9.9', '10.0.0', '1.2.10'];
    const byKey = [...versions].sort((a, b) =>
      releaseSortKey(parseReleaseVersion(a)).localeCompare(releaseSortKey(parseReleaseVersion(b))),
    );
    const byCompare = [...versions].sort((a, b) => compareReleaseVersions(parseReleaseVersion(a), parseReleaseVersion(b)));
    expect(byKey).toEqual(['0.9.9', '1.2.0', '1.2.10', '1.10.0', '10.0.0']);
    expect(byCompare).toEqual(byKey);
  });
});

describe('Function: parseCommand', () => {
  it('splits words and quotes without a shell', () => {
    expect(parseCommand(`echo "a b" 'c d'`)).toEqual([{ env: {}, argv: ['echo', 'a b', 'c d'] }]);
  });

  it('runs && chains as steps, with NAME=value prefixes', () => {
    expect(parseCommand('npm ci && NODE_ENV=production npm run build')).toEqual([
      { env: {}, argv: ['npm', 'ci'] },
      { env: { NODE_ENV: 'production' }, argv: ['npm', 'run', 'build'] },
    ]);
  });

  it('expands $VAR and ${VAR:-default} from the given variables only', () => {
    expect(parseCommand('serve --port $PORT --host ${HOST:-0.0.0.0}', { PORT: '8080' })[0].argv).toEqual([
      'serve',
      '--port',
      '8080',
      '--host',
      '0.0.0.0',
    ]);
  });

  it.each(['a; rm -rf /', 'a | b', 'a > out', 'a || b', 'sleep 1 &', 'echo $(whoami)', 'ls *.js', 'a &&', '&& a'])('refuses %p', (cmd) => {
    expect(codeOf(() => parseCommand(cmd))).toBe('INVALID_COMMAND');
  });

  it('refuses multi-line commands', () => {
    expect(codeOf(() => parseCommand('a\nb'))).toBe('INVALID_COMMAND');
  });
});

describe('Schema: git inputs', () => {
  it.each(['https://github.com/a/b.git', 'ssh://git@host/x.git', 'git@github.com:a/b.git', '/tmp/repo', 'file:///tmp/repo'])(
    'accepts repo %p',
    (repo) => {
      expect(gitRepo.safeParse(repo).success).toBe(true);
    },
  );

  it.each(['ext::sh -c touch% /tmp/pwned', '--upload-pack=touch /tmp/x', '-u', 'relative/path', 'fd::17', 'https://x/\n'])(
    'refuses repo %p (no command-running transports, no options)',
    (repo) => {
      expect(gitRepo.safeParse(repo).success).toBe(false);
    },
  );

  it.each(['main', 'release/1.x', 'feature-2'])('accepts branch %p', (b) => expect(gitBranch.safeParse(b).success).toBe(true));

  it.each(['-f', '--upload-pack=x', 'a..b', 'a b', 'x.lock', 'a/', '@{x}', 'a//b'])('refuses branch %p', (b) =>
    expect(gitBranch.safeParse(b).success).toBe(false),
  );

  it('refuses branch and commit together, and sub-folders that climb out', () => {
    expect(blockSourceInput.safeParse({ repo: '/r', branch: 'main', commit: 'abcdef1' }).success).toBe(false);
    expect(blockSourceInput.safeParse({ repo: '/r', subfolder: '../etc' }).success).toBe(false);
    expect(blockSourceInput.safeParse({ repo: '/r', subfolder: '/etc' }).success).toBe(false);
    expect(blockSourceInput.safeParse({ repo: '/r', subfolder: 'services/api' }).success).toBe(true);
  });
});

describe('Schema: cronSchedule', () => {
  it('accepts 5-field expressions', () => {
    expect(cronSchedule.safeParse('*/5 * * * *').success).toBe(true);
    expect(cronSchedule.safeParse('0 3 * * MON').success).toBe(true);
  });

  it.each(['bad', '* * * * * *', '0 0 31 2 *', '61 * * * *'])('refuses %p', (s) => {
    expect(cronSchedule.safeParse(s).success).toBe(false);
  });
});

describe('Schema: block variable names', () => {
  it.each(['PORT', 'port', 'AWS_LWA_PORT', 'aws_lwa_readiness_check_path', 'KINTO_X'])(
    'refuses %p, saying why as the API words it',
    (name) => {
      const parsed = blockConfigInput.safeParse({ variables: { [name]: 'x' } });
      expect(parsed.success).toBe(false);
      // zod's own message for a record key is only "Invalid key in record".
      expect(describeZodError(parsed.error!)).toMatch(
        new RegExp(`^The request is not valid: body\\.variables\\.${name}: invalid name: .*set by the platform`),
      );
    },
  );
  it.each(['API_KEY', 'PORTAL_URL', 'AWS_PROFILE', 'LWA_MODE'])('accepts %p', (name) =>
    expect(blockConfigInput.safeParse({ variables: { [name]: 'x' } }).success).toBe(true),
  );
});

describe('Function: describeZodError', () => {
  it("ends in one full stop, whether the message is our own (which has one) or zod's", () => {
    const ours = createBlockInput.safeParse({
      name: 'db',
      type: 'custom-service',
      source: { repo: '/r' },
      build: { startCommand: 'a || b' },
    });
    expect(describeZodError(ours.error!)).toMatch(/call it\.$/);
    const zods = createBlockInput.safeParse({ name: 'db', type: 'custom-service', source: { repo: 42 } });
    expect(describeZodError(zods.error!)).toMatch(/[^.]\.$/);
    const both = createBlockInput.safeParse({
      name: 'db',
      type: 'custom-service',
      source: { repo: '/r' },
      build: { buildCommand: 'a || b', startCommand: 'a || b' },
    });
    expect(describeZodError(both.error!)).toMatch(/call it; body\.build\.startCommand: .* call it\.$/);
  });
});
