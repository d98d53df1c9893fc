import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { isKintoError } from '../../core/errors';
import { isReservedBlockName } from '../../core/names';
import type { BlockProcess } from '../../adapters/local/runtime/block-process';
import type { RoutedBlock } from '../../adapters/local/runtime/local-runtime';
import { INTERNAL_PREFIX, type GatewayOptions, type GuardDecision } from './gateway';
import { RequestFacts } from './gateway-exchange';
import { notServing, unroutable, type Refusal } from './gateway-refusals';
import { forwardHeaders } from './forward-headers';

/** What an upgrade goes through: the gateway's runtime, guard, internal entry and access log. */
export type UpgradeOptions = Pick<GatewayOptions, 'runtime' | 'guard' | 'internalKey' | 'onAccess'> & {
  /** How long a block may take to answer an upgrade request. @default 30000 */
  readonly handshakeTimeoutMs?: number;
};

/** `/gw/<env id>/<rest>` upgrade requests (`rest` without the query), as the public server hands them over. */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer, envId: string, rest: string) => void;

export interface UpgradeGateway {
  readonly handle: UpgradeHandler;
  /** Cuts every upgraded connection (the HTTP server no longer tracks them): the platform is stopping. */
  close(): void;
}

/** The longest answer head a block may send to an upgrade. */
const MAX_HEAD_BYTES = 64 * 1024;

/**
 * WebSockets (any HTTP/1.1 upgrade) through the gateway to dynamic websites and microservices,
 * under the rules of every request: the same routing, internal entry and guard (a protected
 * block's token is checked on the upgrade request; basic auth for websites), the caller's
 * `kinto-*` headers dropped and a fresh `kinto-request-id` sent to the block and returned with its
 * answer. Once the block answers 101, bytes pass both ways untouched; the open connection holds a
 * request slot of the block's process, so the block never idles out under it. The access entry
 * is written when the block answers the upgrade (its status, the handshake's duration).
 */
export function createUpgradeHandler(options: UpgradeOptions): UpgradeGateway {
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 30_000;
  const open = new Set<Socket>();
  const track = (s: Socket) => {
    open.add(s);
    s.once('close', () => open.delete(s));
  };

  const handle: UpgradeHandler = (req, duplex, head, envId, rest) => {
    // An HTTP server's upgrade hands over the connection's own net.Socket.
    const socket = duplex as Socket;
    track(socket);
    const requestId = randomUUID();
    const started = performance.now();
    const startedAt = Date.now();
    let block: RoutedBlock | undefined;
    let clientId: string | undefined;
    let logged = false;
    socket.on('error', () => undefined);

    const access = (status: number, path: string) => {
      if (logged || !options.onAccess) return;
      logged = true;
      const f = new RequestFacts();
      f.requestId = requestId;
      f.timeMs = startedAt;
      f.envId = block?.meta.envId ?? envId;
      f.method = req.method ?? 'GET';
      f.path = path;
      f.block = block?.name;
      f.release = block?.meta.release;
      f.commit = block?.meta.commit;
      f.status = status;
      f.durationMs = Math.round((performance.now() - started) * 100) / 100;
      f.clientId = clientId;
      options.onAccess(f);
    };
    const refuse = (r: Refusal, path: string, headers: Record<string, string> = {}) => {
      access(r.status, path);
      writeRefusal(socket, r, requestId, headers);
    };

    let internal = false;
    if (rest.startsWith(INTERNAL_PREFIX)) {
      // The key is cut from the path here, before anything logs or forwards the path.
      const end = rest.indexOf('/', INTERNAL_PREFIX.length);
      const key = rest.slice(INTERNAL_PREFIX.length, end < 0 ? rest.length : end);
      if (!options.internalKey?.(envId, key))
        return refuse({ status: 404, code: 'NOT_FOUND', message: 'There is nothing at this address.' }, '/');
      internal = true;
      rest = end < 0 ? '/' : rest.slice(end);
    }
    const path = rest;
    const slash = rest.indexOf('/', 1);
    const blockName = slash < 0 ? rest.slice(1) : rest.slice(1, slash);
    const blockPath = slash < 0 ? '/' : rest.slice(slash);
    if (isReservedBlockName(blockName))
      return refuse({ status: 404, code: 'NOT_FOUND', message: 'There is nothing to upgrade to at this address.' }, path);

    void (async () => {
      const lookup = await options.runtime.lookup(envId);
      if (lookup.kind !== 'running') return refuse(notServing(lookup.kind), path);
      block = lookup.env.blocks.get(blockName);
      if (!block) return refuse(unroutable(lookup.env, blockName), path);
      if (!block.process)
        return refuse(
          {
            status: 400,
            code: 'UPGRADE_NOT_SUPPORTED',
            message: `Website "${block.name}" is static: it serves files, not WebSockets. A dynamic website or a microservice can take them.`,
          },
          path,
        );
      const decision: GuardDecision = options.guard
        ? await options.guard({ env: lookup.env, block, headers: req.headers, internal, remoteAddress: req.socket.remoteAddress })
        : { allow: true };
      if (!decision.allow) return refuse(decision, path, decision.headers);
      clientId = decision.clientId;
      const lines = requestHead(req, blockPath, requestId, clientId, decision.stripAuthorization === true);
      await pass(block.process, lines, path, false);
    })().catch((e: unknown) => {
      if (isKintoError(e)) return refuse({ status: e.status, code: e.code, message: e.message }, path);
      console.error(
        JSON.stringify({ level: 'error', message: 'gateway upgrade error', requestId, error: String((e as Error)?.stack ?? e) }),
      );
      refuse(
        {
          status: 500,
          code: 'INTERNAL',
          message: `Something went wrong in the gateway. Quote request id ${requestId} when you report it.`,
        },
        path,
      );
    });

    /** Takes a slot of the block's process, sends it the upgrade request and relays its answer. */
    async function pass(process: BlockProcess, lines: string[], path: string, retried: boolean): Promise<void> {
      const port = await process.acquire();
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        process.release();
      };
      if (socket.destroyed) return release();
      const upstream = connect({ host: '127.0.0.1', port });
      track(upstream);
      let answered = false;
      let connected = false;
      const timer = setTimeout(() => {
        upstream.destroy();
        release();
        refuse(
          {
            status: 504,
            code: 'BLOCK_TIMEOUT',
            message: `Block "${block!.name}" did not answer the upgrade within ${handshakeTimeoutMs / 1000} s.`,
          },
          path,
        );
      }, handshakeTimeoutMs);
      socket.once('close', () => {
        clearTimeout(timer);
        upstream.destroySoon();
        release();
        if (!answered) access(499, path);
      });
      upstream.once('connect', () => {
        connected = true;
        upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
        if (head.length) upstream.write(head);
      });
      upstream.on('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (answered) return void socket.destroy();
        release();
        if (!connected && e.code === 'ECONNREFUSED' && !retried && !socket.destroyed) {
          // Nothing listened: the process died before we heard. Start a fresh one, once.
          process.markDead();
          return void pass(process, lines, path, true).catch((err: unknown) =>
            refuse(isKintoError(err) ? err : { status: 502, code: 'BLOCK_UNAVAILABLE', message: String(err) }, path),
          );
        }
        refuse(
          {
            status: 502,
            code: 'BLOCK_UNAVAILABLE',
            message: `Block "${block!.name}" closed the connection without answering the upgrade (${e.code ?? e.message}).`,
          },
          path,
        );
      });
      readHead(upstream, requestId, (answer, restBytes) => {
        clearTimeout(timer);
        if (!answer) {
          release();
          upstream.destroy();
          return refuse(
            { status: 502, code: 'BLOCK_UNAVAILABLE', message: `Block "${block!.name}" sent no valid answer to the upgrade.` },
            path,
          );
        }
        answered = true;
        access(answer.status, path);
        socket.write(answer.head);
        if (restBytes.length) socket.write(restBytes);
        upstream.once('close', () => {
          release();
          socket.destroySoon();
        });
        upstream.pipe(socket);
        if (answer.status === 101) {
          socket.pipe(upstream);
        } else {
          // Refused by the block: its answer goes back, and nothing more of the caller reaches it
          // (the connection must not carry requests past the gateway).
          upstream.end();
        }
      });
    }
  };

  return {
    handle,
    close: () => {
      for (const s of open) s.destroy();
    },
  };
}

/** The upgrade request as the block gets it: the caller's headers minus hop-by-hop and `kinto-*`, plus the platform's. */
function requestHead(
  req: IncomingMessage,
  blockPath: string,
  requestId: string,
  clientId: string | undefined,
  stripAuthorization: boolean,
): string[] {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  const lines = [`${req.method ?? 'GET'} ${query < 0 ? blockPath : blockPath + url.slice(query)} HTTP/1.1`];
  // The upgrade's own `connection`/`upgrade` pair is written anew; the rest as for any request.
  lines.push(`host: ${req.headers.host ?? 'localhost'}`, 'connection: Upgrade', `upgrade: ${String(req.headers.upgrade ?? 'websocket')}`);
  const headers = forwardHeaders(req, requestId, clientId, stripAuthorization);
  for (let i = 0; i < headers.length; i += 2) lines.push(`${headers[i]}: ${headers[i + 1]}`);
  return lines;
}

/**
 * Reads a block's answer head; hands over its status and the head rewritten (its `kinto-*` headers
 * dropped, the platform's request id added; `connection: close` unless it switched protocols), and
 * the bytes that followed. `undefined`: no valid head (closed, too long, not HTTP).
 */
function readHead(
  upstream: Socket,
  requestId: string,
  done: (answer: { status: number; head: string } | undefined, rest: Buffer) => void,
): void {
  let buffered = Buffer.alloc(0);
  let finished = false;
  const finish = (answer: { status: number; head: string } | undefined, rest: Buffer) => {
    if (finished) return;
    finished = true;
    upstream.off('data', onData);
    upstream.off('end', onEnd);
    upstream.pause();
    done(answer, rest);
  };
  const onEnd = () => finish(undefined, Buffer.alloc(0));
  const onData = (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    const end = buffered.indexOf('\r\n\r\n');
    if (end < 0) {
      if (buffered.length > MAX_HEAD_BYTES) finish(undefined, Buffer.alloc(0));
      return;
    }
    const [statusLine, ...headers] = buffered.subarray(0, end).toString('latin1').split('\r\n');
    const status = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(statusLine);
    if (!status) return finish(undefined, Buffer.alloc(0));
    const code = Number(status[1]);
    const kept = headers.filter((line) => {
      const name = line.slice(0, line.indexOf(':')).trim().toLowerCase();
      return !name.startsWith('kinto-') && (code === 101 || name !== 'connection');
    });
    const head =
      [statusLine, ...kept, `kinto-request-id: ${requestId}`, ...(code === 101 ? [] : ['connection: close'])].join('\r\n') + '\r\n\r\n';
    finish({ status: code, head }, buffered.subarray(end + 4));
  };
  upstream.on('data', onData);
  upstream.once('end', onEnd);
}

function writeRefusal(socket: Duplex, r: Refusal, requestId: string, headers: Record<string, string>): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: { code: r.code, message: r.message, requestId } });
  const lines = [
    `HTTP/1.1 ${r.status} ${STATUS_CODES[r.status] ?? ''}`,
    'content-type: application/json; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    'cache-control: no-store',
    `kinto-request-id: ${requestId}`,
    'connection: close',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  // The HTTP server's sockets stay half-open after `end`: closed once the answer is written.
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`, () => socket.destroy());
}
