import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP server on loopback where test blocks report what happened to them (`POST /<key>` with a
 * line of text; `GET /<key>` reads them back). Blocks run sandboxed and cannot write to the test's
 * folders; they can call out.
 */
export interface HitRecorder {
  readonly url: string;
  lines(key: string): string[];
  close(): Promise<void>;
}

export async function startHitRecorder(): Promise<HitRecorder> {
  const seen = new Map<string, string[]>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const key = decodeURIComponent((req.url ?? '/').slice(1));
      // GET reads what was reported under a key (a block can see what a job reported).
      if (req.method === 'GET') return void res.end(JSON.stringify(seen.get(key) ?? []));
      (seen.get(key) ?? seen.set(key, []).get(key)!).push(body);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    lines: (key) => [...(seen.get(key) ?? [])],
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
