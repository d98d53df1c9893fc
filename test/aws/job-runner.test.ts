import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { lineWriter, MAX_LINE_BYTES, parseInvocation, stopTimes } from '../../lambdas/adapters/aws/job-image/job-runner';
import { bundleJobRunner } from '../../lib/build-pipeline';

/** What the runner sent back for one invocation. */
interface Answer {
  readonly route: 'response' | 'error';
  readonly body: any;
  readonly errorType?: string;
  /** When it arrived (epoch ms). */
  readonly at: number;
}

/**
 * A fake Lambda Runtime API on a real port: hands out queued invocations to `invocation/next`
 * (holding the request open while there is none, as Lambda does) and records the answers.
 */
class FakeRuntimeApi {
  private readonly server: Server;
  private readonly queue: { id: string; body: string; deadlineMs: number }[] = [];
  private readonly waiting: ServerResponse[] = [];
  private readonly pending = new Map<string, (answer: Answer) => void>();
  private nextId = 0;
  readonly initErrors: { body: any; errorType?: string }[] = [];

  constructor() {
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  async start(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Queues an invocation; resolves with the runner's answer. */
  invoke(body: unknown, deadlineMs = Date.now() + 60_000): Promise<Answer> {
    const id = `req-${++this.nextId}`;
    const answer = new Promise<Answer>((resolve) => this.pending.set(id, resolve));
    this.queue.push({ id, body: typeof body === 'string' ? body : JSON.stringify(body), deadlineMs });
    this.dispatch();
    return answer;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private dispatch(): void {
    while (this.queue.length && this.waiting.length) {
      const next = this.queue.shift()!;
      this.waiting
        .shift()!
        .writeHead(200, {
          'Lambda-Runtime-Aws-Request-Id': next.id,
          'Lambda-Runtime-Deadline-Ms': String(next.deadlineMs),
          'Lambda-Runtime-Invoked-Function-Arn': 'arn:aws:lambda:eu-west-1:123456789012:function:kinto-job',
          'Lambda-Runtime-Trace-Id': 'Root=1-00000000-000000000000000000000000',
          'Content-Type': 'application/json',
        })
        .end(next.body);
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = req.url ?? '';
    const errorType = req.headers['lambda-runtime-function-error-type'] as string | undefined;
    if (req.method === 'GET' && url === '/2018-06-01/runtime/invocation/next') {
      this.waiting.push(res);
      this.dispatch();
      return;
    }
    const answered = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(url);
    if (req.method === 'POST' && answered) {
      const resolve = this.pending.get(answered[1]);
      this.pending.delete(answered[1]);
      res.writeHead(resolve ? 202 : 400).end();
      resolve?.({ route: answered[2] as Answer['route'], body: JSON.parse(text), errorType, at: Date.now() });
      return;
    }
    if (req.method === 'POST' && url === '/2018-06-01/runtime/init/error') {
      this.initErrors.push({ body: JSON.parse(text), errorType });
      res.writeHead(202).end();
      return;
    }
    res.writeHead(404).end();
  }
}

describe('Program: job-runner (the Lambda custom runtime of job images)', () => {
  let bundle: string;
  let api: FakeRuntimeApi;
  let address: string;
  let runner: ChildProcess | undefined;
  let output = '';

  beforeAll(() => {
    // The very file CDK ships to CodeBuild (esbuild's API, as at synth).
    bundle = bundleJobRunner();
  });

  beforeEach(async () => {
    api = new FakeRuntimeApi();
    address = await api.start();
    output = '';
  });

  afterEach(async () => {
    if (runner && runner.exitCode === null && runner.signalCode === null) {
      runner.kill('SIGKILL');
      await once(runner, 'exit');
    }
    runner = undefined;
    await api.stop();
  });

  /** Starts the bundled runner as Lambda would: a process with the function's environment and the API's address. */
  const startRunner = (env: Record<string, string>) => {
    runner = spawn(process.execPath, [bundle], {
      env: { PATH: process.env.PATH, AWS_LAMBDA_RUNTIME_API: address, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Decoded as a stream: a chunk may end inside a UTF-8 character.
    runner.stdout!.setEncoding('utf8').on('data', (text: string) => (output += text));
    runner.stderr!.setEncoding('utf8').on('data', (text: string) => (output += text));
    return runner;
  };
  /** Waits (at most 2 s) for the runner's note of how a run ended: its answer can reach the test before its last lines do. */
  const settled = async (runId: string) => {
    const end = new RegExp(`^\\[${runId}\\] \\[kinto\\] (exit code|ended by|stopped at)`, 'm');
    for (let i = 0; i < 100 && !end.test(output); i++) await new Promise((r) => setTimeout(r, 20));
  };
  /** The lines the runner wrote for one run, without their prefix (what the deployer's log reader shows). */
  const linesOf = (runId: string) =>
    output
      .split('\n')
      .filter((l) => l.startsWith(`[${runId}] `))
      .map((l) => l.slice(runId.length + 3));
  const jobLines = (runId: string) => linesOf(runId).filter((l) => !l.startsWith('[kinto] '));

  describe('exit codes', () => {
    it('answers exit code 0 for a job that succeeds, with its output prefixed by the run id', async () => {
      startRunner({ KINTO_START_COMMAND: 'echo "migrating $DATABASE"; echo "a warning" >&2; exit 0', DATABASE: 'shop' });

      const answer = await api.invoke({ runId: 'run-ok-1', trigger: 'pre-deploy' });
      await settled('run-ok-1');

      expect(answer).toMatchObject({ route: 'response', body: { exitCode: 0 } });
      expect(answer.body).not.toHaveProperty('timedOut');
      expect(jobLines('run-ok-1').sort()).toEqual(['a warning', 'migrating shop']);
      expect(linesOf('run-ok-1')[0]).toBe(
        '[kinto] pre-deploy run run-ok-1: ["/bin/sh","-c","echo \\"migrating $DATABASE\\"; echo \\"a warning\\" >&2; exit 0"]',
      );
      expect(linesOf('run-ok-1')).toContain('[kinto] exit code 0');
    });

    it('answers a non-zero exit code as it is', async () => {
      startRunner({ KINTO_START_COMMAND: 'echo "no such table" >&2; exit 3' });

      const answer = await api.invoke({ runId: 'run-fail-1', trigger: 'post-deploy' });
      await settled('run-fail-1');

      expect(answer).toMatchObject({ route: 'response', body: { exitCode: 3 } });
      expect(jobLines('run-fail-1')).toEqual(['no such table']);
    });
  });

  describe('output', () => {
    it('captures interleaved stdout and stderr line by line, each line whole, and a last line without a line end', async () => {
      const script = [
        'for (let i = 0; i < 400; i++) (i % 2 ? process.stderr : process.stdout).write(`line ${i} ${"x".repeat(i % 7 * 300)}\\n`);',
        'process.stdout.write("partial ");',
        'setTimeout(() => process.stdout.write("last, no line end"), 20);',
      ].join('\n');
      startRunner({ KINTO_JOB_COMMAND: JSON.stringify([process.execPath, '-e', script]) });

      const answer = await api.invoke({ runId: 'run-lines', trigger: 'manual' });
      await settled('run-lines');

      expect(answer.body).toEqual({ exitCode: 0 });
      const lines = jobLines('run-lines');
      const expected = Array.from({ length: 400 }, (_, i) => `line ${i} ${'x'.repeat((i % 7) * 300)}`);
      expect(lines.filter((l) => l.startsWith('line ')).sort()).toEqual([...expected].sort());
      // Within one stream the order is kept.
      const odd = lines.filter((l) => /^line \d*[13579] /.test(l));
      expect(odd).toEqual(expected.filter((_, i) => i % 2));
      expect(lines).toContain('partial last, no line end');
      // Every line of the runner's output belongs to the run (nothing unprefixed in between).
      expect(output.split('\n').filter((l) => l && !l.startsWith('[run-lines] '))).toEqual([]);
    });

    it('cuts a line over 256 KB to fit one CloudWatch Logs event, on a character boundary, and goes on with the next line', async () => {
      const script = 'process.stdout.write("é".repeat(200000) + "\\nafter\\n")';
      startRunner({ KINTO_JOB_COMMAND: JSON.stringify([process.execPath, '-e', script]) });

      const answer = await api.invoke({ runId: 'run-long', trigger: 'manual' });
      await settled('run-long');

      expect(answer.body).toEqual({ exitCode: 0 });
      const written = output.split('\n').filter((l) => l.startsWith('[run-long] é'));
      expect(written).toHaveLength(1);
      expect(Buffer.byteLength(`${written[0]}\n`)).toBeLessThanOrEqual(MAX_LINE_BYTES);
      expect(Buffer.byteLength(`${written[0]}\n`)).toBeGreaterThan(MAX_LINE_BYTES - 64);
      expect(written[0]).toMatch(/^\[run-long\] é+ \[kinto: line cut, over 256 KB\]$/);
      expect(jobLines('run-long')).toContain('after');
    });
  });

  describe('deadline', () => {
    it('stops a job that outlives the deadline with SIGTERM (to its whole process group) and answers timedOut before the deadline', async () => {
      // The shell runs its trap once `sleep` (in the same group) has been stopped too.
      startRunner({ KINTO_START_COMMAND: 'trap "echo got SIGTERM; exit 143" TERM; echo started; sleep 30; echo never' });
      const deadline = Date.now() + 3000;

      const answer = await api.invoke({ runId: 'run-slow', trigger: 'cron' }, deadline);
      await settled('run-slow');

      expect(answer).toMatchObject({ route: 'response', body: { exitCode: 143, timedOut: true } });
      expect(answer.at).toBeLessThan(deadline);
      expect(answer.at).toBeGreaterThan(deadline - 1500);
      // (The shell may also report its stopped `sleep`, e.g. "Terminated".)
      expect(jobLines('run-slow')).toEqual(expect.arrayContaining(['started', 'got SIGTERM']));
      expect(jobLines('run-slow')).not.toContain('never');
      expect(linesOf('run-slow').some((l) => l.startsWith("[kinto] the function's deadline is near: stopping the job (SIGTERM"))).toBe(
        true,
      );
    });

    it('kills a job that ignores SIGTERM after the grace, and still answers before the deadline', async () => {
      startRunner({ KINTO_START_COMMAND: 'trap "" TERM; echo stubborn; sleep 30' });
      const deadline = Date.now() + 3000;

      const answer = await api.invoke({ runId: 'run-stubborn', trigger: 'cron' }, deadline);
      await settled('run-stubborn');

      expect(answer).toMatchObject({ route: 'response', body: { exitCode: null, timedOut: true } });
      expect(answer.at).toBeLessThan(deadline);
      expect(linesOf('run-stubborn')).toContain("[kinto] stopped at the function's deadline (SIGKILL)");
    });
  });

  describe('KINTO_JOB_COMMAND (a Dockerfile image: its ENTRYPOINT + CMD)', () => {
    it('runs the argv as it is, without a shell, with the function environment minus the Runtime API', async () => {
      const script =
        'console.log(JSON.stringify({ argv: process.argv.slice(1), api: process.env.AWS_LAMBDA_RUNTIME_API ?? null, greeting: process.env.GREETING }))';
      const args = ['$HOME', 'a b', '"quoted"', ';', 'echo', 'injected', '`id`'];
      startRunner({
        KINTO_JOB_COMMAND: JSON.stringify([process.execPath, '-e', script, ...args]),
        GREETING: 'hi',
        KINTO_START_COMMAND: 'echo ignored',
      });

      const answer = await api.invoke({ runId: 'run-argv', trigger: 'manual' });
      await settled('run-argv');

      expect(answer.body).toEqual({ exitCode: 0 });
      expect(jobLines('run-argv').map((l) => JSON.parse(l))).toEqual([{ argv: args, api: null, greeting: 'hi' }]);
    });

    it('answers through /error when the command cannot be started', async () => {
      startRunner({ KINTO_JOB_COMMAND: JSON.stringify(['/no/such/migrate', '--all']) });

      const answer = await api.invoke({ runId: 'run-missing', trigger: 'pre-deploy' });

      expect(answer.route).toBe('error');
      expect(answer.errorType).toBe('Kinto.JobNotStarted');
      expect(answer.body).toEqual({
        errorType: 'Kinto.JobNotStarted',
        errorMessage: expect.stringMatching(/could not start the job's command "\/no\/such\/migrate": .*ENOENT/),
      });
    });
  });

  describe('invocations', () => {
    it('serves two invocations in a row on one runner, each with its own run id', async () => {
      startRunner({ KINTO_START_COMMAND: 'echo "run at $(date +%s%N)"; exit "${EXIT_WITH:-0}"', EXIT_WITH: '7' });

      const first = await api.invoke({ runId: 'run-a', trigger: 'cron' });
      await settled('run-a');
      const second = await api.invoke({ runId: 'run-b', trigger: 'manual' });
      await settled('run-b');

      expect(first.body).toEqual({ exitCode: 7 });
      expect(second.body).toEqual({ exitCode: 7 });
      expect(jobLines('run-a')).toHaveLength(1);
      expect(jobLines('run-b')).toHaveLength(1);
      expect(jobLines('run-a')[0]).not.toBe(jobLines('run-b')[0]);
      expect(runner!.exitCode).toBeNull(); // still serving
    });

    it('answers a malformed payload through /error and goes on serving', async () => {
      startRunner({ KINTO_START_COMMAND: 'echo ran' });

      const notJson = await api.invoke('{not json');
      const noRunId = await api.invoke({ trigger: 'cron' });
      const badRunId = await api.invoke({ runId: 'a b"', trigger: 'cron' });
      const badTrigger = await api.invoke({ runId: 'run-x', trigger: 'sometimes' });
      const good = await api.invoke({ runId: 'run-after', trigger: 'cron' });
      await settled('run-after');

      for (const answer of [notJson, noRunId, badRunId, badTrigger]) {
        expect(answer.route).toBe('error');
        expect(answer.body.errorType).toBe('Kinto.InvalidPayload');
      }
      expect(notJson.body.errorMessage).toMatch(/the payload is not JSON/);
      expect(noRunId.body.errorMessage).toMatch(/runId must be 1-64 letters, digits/);
      expect(badTrigger.body.errorMessage).toMatch(/trigger must be one of pre-deploy, post-deploy, cron, manual/);
      expect(output).not.toMatch(/^\[run-x\] /m);
      expect(good).toMatchObject({ route: 'response', body: { exitCode: 0 } });
      expect(jobLines('run-after')).toEqual(['ran']);
    });

    it('reports an image without a job command as an init error and exits', async () => {
      const process_ = startRunner({});
      const [code] = (await once(process_, 'exit')) as [number];

      expect(code).toBe(1);
      expect(api.initErrors).toEqual([
        {
          errorType: 'Kinto.NoJobCommand',
          body: { errorType: 'Kinto.NoJobCommand', errorMessage: expect.stringMatching(/the image names no job command/) },
        },
      ]);
    });

    it('reports a KINTO_JOB_COMMAND that is not a JSON array of strings as an init error', async () => {
      const process_ = startRunner({ KINTO_JOB_COMMAND: 'node migrate.js' });
      await once(process_, 'exit');

      expect(api.initErrors[0]?.body.errorMessage).toMatch(
        /KINTO_JOB_COMMAND must be a non-empty JSON array of strings .* got "node migrate.js"/,
      );
    });
  });

  describe('Function: stopTimes', () => {
    it('sends SIGTERM 4 s and SIGKILL 1 s before a long deadline, proportionally earlier for a short one', () => {
      expect(stopTimes(840_000, 0)).toEqual({ termAt: 836_000, killAt: 839_000 });
      expect(stopTimes(3000, 0)).toEqual({ termAt: 2100, killAt: 2700 });
      expect(stopTimes(0, 5)).toEqual({ termAt: 0, killAt: 0 });
    });
  });

  describe('Function: lineWriter', () => {
    it('never splits a UTF-8 character when it cuts, and keeps lines whole across chunks', () => {
      const written: string[] = [];
      const writer = lineWriter('[r] ', (t) => written.push(t), 64);
      const long = Buffer.from(`${'€'.repeat(40)}\nshort`);
      for (let i = 0; i < long.length; i += 5) writer.push(long.subarray(i, i + 5));
      writer.push(Buffer.from(' line\r\n'));
      writer.end();

      expect(written).toHaveLength(2);
      expect(Buffer.byteLength(written[0])).toBeLessThanOrEqual(64);
      expect(written[0]).toMatch(/^\[r\] €+ \[kinto: line cut, over 256 KB\]\n$/);
      expect(written[1]).toBe('[r] short line\n');
    });
  });

  describe('Function: parseInvocation', () => {
    it("accepts the deployer's payload and nothing else", () => {
      expect(parseInvocation('{"runId":"0abc_DEF-1","trigger":"post-deploy"}')).toEqual({ runId: '0abc_DEF-1', trigger: 'post-deploy' });
      expect(() => parseInvocation('null')).toThrow(/runId/);
      expect(() => parseInvocation(JSON.stringify({ runId: 'x'.repeat(65), trigger: 'cron' }))).toThrow(/runId/);
    });
  });
});
