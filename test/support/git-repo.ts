import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const GIT_ID = ['-c', 'user.email=test@kinto.dev', '-c', 'user.name=Kinto Test', '-c', 'commit.gpgsign=false'];

/** A real git repository in a temp folder, with `files` committed on `main`. */
export function createGitRepo(files: Record<string, string>, branch = 'main'): string {
  const dir = mkdtempSync(join(tmpdir(), 'kinto-repo-'));
  execFileSync('git', ['init', '-q', '-b', branch, dir]);
  commitFiles(dir, files, 'initial');
  return dir;
}

/** Writes `files` and commits them; returns the new commit sha. */
export function commitFiles(repo: string, files: Record<string, string>, message = 'change'): string {
  for (const [name, content] of Object.entries(files)) {
    const path = join(repo, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  }
  execFileSync('git', ['-C', repo, 'add', '-A']);
  execFileSync('git', ['-C', repo, ...GIT_ID, 'commit', '-q', '-m', message]);
  return execFileSync('git', ['-C', repo, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
}

/** A Node HTTP block: answers JSON with a variable, the path, its request id and release. */
export const NODE_SERVICE = `
const http = require('http');
// Its pid is the PID namespace's (always small): an id of its own tells instances apart.
const instance = require('crypto').randomUUID();
const server = http.createServer((req, res) => {
  const id = req.headers['kinto-request-id'];
  console.log(JSON.stringify({ kinto_request_id: id, message: 'handled', path: req.url }));
  console.log('plain line for ' + req.url);
  if (req.url === '/crash') process.exit(3);
  if (req.url === '/headers') {
    // What the gateway forwards each way: the request headers it sent, and response headers to filter.
    res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/']);
    res.setHeader('kinto-request-id', 'from-block');
    res.setHeader('kinto-other', 'from-block');
    res.setHeader('x-custom', 'kept');
    return res.end(JSON.stringify({ requestId: id, headers: req.headers }));
  }
  if (req.url === '/echo') return req.pipe(res);
  if (req.url === '/stream') {
    // Answers in parts and never ends; notes (in its own /tmp: the build folder is read-only) when the caller's side closes.
    res.on('close', () => require('fs').appendFileSync(require('os').tmpdir() + '/stream-closed.log', id + '\\n'));
    return res.write('first part\\n');
  }
  if (req.url === '/stream-closed') {
    const fs = require('fs');
    const log = require('os').tmpdir() + '/stream-closed.log';
    return res.end(JSON.stringify({ closed: fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\\n').filter(Boolean) : [] }));
  }
  if (req.url === '/stop-listening') {
    setInterval(() => {}, 1000); // stays alive, answers nothing more
    return res.end(JSON.stringify({ stopping: instance }), () => server.close());
  }
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({
    greeting: process.env.GREETING ?? null,
    path: req.url,
    requestId: id ?? null,
    clientId: req.headers['kinto-client-id'] ?? null,
    release: process.env.KINTO_RELEASE,
    block: process.env.KINTO_BLOCK,
    environment: process.env.KINTO_ENVIRONMENT,
    pid: process.pid,
    instance,
  }));
});
server.listen(Number(process.env.PORT), '127.0.0.1');
`;
