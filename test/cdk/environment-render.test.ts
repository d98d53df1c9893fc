import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXAMPLE_DESCRIPTION_FILE, exampleDescription } from '../../bin/examples/environments';
import { functionNameOf, stackOutputs, stackParameters } from '../../lambdas/adapters/aws/runtime/environment-description';

const ROOT = join(__dirname, '..', '..');

describe('Command: npm run render-environment', () => {
  const home = mkdtempSync(join(tmpdir(), 'kinto-render-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  /** The command as a reviewer runs it, in a process of its own, with no AWS configuration at all. */
  const render = (args: string[], viaNpm = false) => {
    const env = { ...process.env, HOME: home, CDK_HOME: home, AWS_REGION: '', AWS_PROFILE: '', AWS_ACCESS_KEY_ID: '' };
    const r = viaNpm
      ? spawnSync('npm', ['run', '--silent', 'render-environment', '--', ...args], { cwd: ROOT, encoding: 'utf8', env })
      : spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bin', 'render-environment.ts'), ...args], {
          cwd: ROOT,
          encoding: 'utf8',
          env,
        });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it('prints the template of the example description, checked by cdk-nag, with a summary on stderr', () => {
    const r = render([EXAMPLE_DESCRIPTION_FILE, '--deployment', 'dep-42'], true);
    expect({ status: r.status, stderr: r.stderr }).toEqual({
      status: 0,
      stderr: expect.stringContaining('cdk-nag AwsSolutions: no unacknowledged finding'),
    });
    const template = JSON.parse(r.stdout) as {
      Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
      Outputs: Record<string, { Value: unknown }>;
    };
    const d = exampleDescription();
    const functions = Object.values(template.Resources).filter((x) => x.Type === 'AWS::Lambda::Function');
    expect(functions.map((f) => f.Properties.FunctionName).sort()).toEqual(d.blocks.map((b) => functionNameOf(d.envId, b.name)).sort());
    expect(Object.values(template.Resources).filter((x) => x.Type === 'AWS::Scheduler::Schedule')).toHaveLength(1);
    expect(template.Outputs[stackOutputs.deployment].Value).toBe('dep-42');
    expect(r.stderr).toContain(`Parameters the deployer passes: ${stackParameters.internalKey}`);
    expect(r.stderr).toMatch(/Stack kinto-env-c4f3a9d2e1b04c8f9a7d6e5f4a3b2c1d \(shop\/dev\): \d+ resources/);
  });

  it('says what is wrong with a description, and exits 1', () => {
    const file = join(home, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify({ ...exampleDescription(), blocks: [{ ...exampleDescription().blocks[0], type: 'custom-service' }] }),
    );
    const r = render([file]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/render-environment: .*custom service.*Fargate/);

    writeFileSync(file, '{"not": "a description"}');
    expect(render([file]).stderr).toMatch(/is not an environment description: it needs envId, project, environment, platform/);
  });
});
