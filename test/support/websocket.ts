import { randomBytes } from 'node:crypto';
import { request, type IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';

/**
 * A block that takes WebSockets with node:http alone (no `ws` package): it answers the handshake,
 * sends what it was told (`kinto-request-id`, `kinto-client-id`, path) as its first message, then
 * echoes each text message. `/refuse` is refused with a 403; its answer also tries to set
 * `kinto-request-id` (the gateway must not let it).
 */
export const WEBSOCKET_SERVICE = `
const http = require('http'), crypto = require('crypto');
const frame = (text) => {
  const p = Buffer.from(text);
  if (p.length < 126) return Buffer.concat([Buffer.from([0x81, p.length]), p]);
  const h = Buffer.from([0x81, 126, 0, 0]); h.writeUInt16BE(p.length, 2); return Buffer.concat([h, p]);
};
const unmask = (buf) => { const len = buf[1] & 0x7f, mask = buf.subarray(2, 6); return Buffer.from(buf.subarray(6, 6 + len).map((b, i) => b ^ mask[i % 4])).toString(); };
const server = http.createServer((req, res) => res.end('plain http ' + req.url));
server.on('upgrade', (req, socket) => {
  if (req.url === '/refuse') return socket.end('HTTP/1.1 403 Forbidden\\r\\ncontent-length: 2\\r\\nkinto-request-id: forged-by-block\\r\\n\\r\\nno');
  const accept = crypto.createHash('sha1').update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  socket.write('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Accept: ' + accept + '\\r\\nkinto-request-id: forged-by-block\\r\\n\\r\\n');
  socket.write(frame(JSON.stringify({ requestId: req.headers['kinto-request-id'] ?? null, clientId: req.headers['kinto-client-id'] ?? null, path: req.url, instance: process.env.INSTANCE_ID ?? crypto.randomUUID() })));
  socket.on('data', (buf) => socket.write(frame('echo:' + unmask(buf))));
});
process.env.INSTANCE_ID = crypto.randomUUID();
server.listen(Number(process.env.PORT), '127.0.0.1');
`;

/** An open WebSocket, read frame by frame. */
export interface OpenSocket {
  readonly headers: IncomingHttpHeaders;
  /** The next text message (waits for it). */
  next(): Promise<string>;
  send(text: string): void;
  close(): void;
}

/** What an upgrade request got: an open socket (101), or an HTTP answer. */
export type UpgradeResult =
  | { readonly upgraded: true; readonly socket: OpenSocket }
  | { readonly upgraded: false; readonly status: number; readonly headers: IncomingHttpHeaders; readonly body: string };

/** Opens a WebSocket with a hand-made handshake (RFC 6455: masked client frames, short text messages). */
export function openWebSocket(url: string, headers: Record<string, string> = {}): Promise<UpgradeResult> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        'sec-websocket-version': '13',
        ...headers,
      },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ upgraded: false, status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('upgrade', (res, socket: Socket, head: Buffer) => resolve({ upgraded: true, socket: framed(socket, head, res.headers) }));
    req.end();
  });
}

function framed(socket: Socket, head: Buffer, headers: IncomingHttpHeaders): OpenSocket {
  let buffered = head;
  const messages: string[] = [];
  const waiting: ((m: string) => void)[] = [];
  const parse = () => {
    for (;;) {
      if (buffered.length < 2) return;
      let len = buffered[1] & 0x7f;
      let offset = 2;
      if (len === 126) {
        if (buffered.length < 4) return;
        len = buffered.readUInt16BE(2);
        offset = 4;
      }
      if (buffered.length < offset + len) return;
      const text = buffered.subarray(offset, offset + len).toString('utf8');
      buffered = buffered.subarray(offset + len);
      const waiter = waiting.shift();
      if (waiter) waiter(text);
      else messages.push(text);
    }
  };
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    parse();
  });
  parse();
  return {
    headers,
    next: () => {
      const ready = messages.shift();
      return ready !== undefined ? Promise.resolve(ready) : new Promise((resolve) => waiting.push(resolve));
    },
    send: (text) => {
      const payload = Buffer.from(text);
      const mask = randomBytes(4);
      socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, payload.map((b, i) => b ^ mask[i % 4])]));
    },
    close: () => socket.destroy(),
  };
}
