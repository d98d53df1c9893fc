import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { AccessFacts } from '../../adapters/local/logs/access-line-writer';
import type { RoutedBlock } from '../../adapters/local/runtime/local-runtime';

/** What the gateway does when the call to a block fails (the block's answer may have begun). */
export type UpstreamFailure = (ex: Exchange, err: Error) => void;

/** Said to the block's connection when the caller leaves before the block's answer is complete. */
const CALLER_LEFT = new Error('the caller left before the answer was complete');

/**
 * One request through the gateway, from arrival to the access entry; also undici's handler for
 * the call to the block (`Pool.dispatch`), which streams the block's answer to the caller as it
 * comes. One object per request, rather than undici's `stream()` helper and its per-request plumbing.
 */
export class Exchange implements Dispatcher.DispatchHandler {
  public readonly started = performance.now();
  public readonly startedAt = Date.now();
  public path = '/';
  public blockPath = '/';
  public internal = false;
  public block: RoutedBlock | undefined = undefined;
  public clientId: string | undefined = undefined;
  public stripAuthorization = false;
  public acquired = false;
  public hasBody = false;
  public retried = false;
  /** The caller's side is over (answered, or the caller left). */
  public done = false;
  public readonly method: string;
  private controller: Dispatcher.DispatchController | undefined = undefined;

  constructor(
    public readonly req: IncomingMessage,
    public readonly res: ServerResponse,
    public readonly envId: string,
    public readonly requestId: string,
    private readonly failed: UpstreamFailure,
  ) {
    this.method = req.method ?? 'GET';
    (res as Exchanged).exchange = this;
  }

  /** The caller left before the answer was complete: stop the call to the block too. */
  abandon(): void {
    if (this.controller && !this.controller.aborted) this.controller.abort(CALLER_LEFT);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.done) controller.abort(CALLER_LEFT);
  }

  /** The block answered: its status and headers (minus hop-by-hop and `kinto-*`) go to the caller. */
  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    // A new flat list rather than `delete` on undici's object (which would turn it slow for Node's header writer).
    const out: (string | string[])[] = [];
    for (const name in headers) {
      if (name.startsWith('kinto-') || name === 'connection' || name === 'keep-alive' || name === 'transfer-encoding') continue;
      out.push(name, headers[name]!);
    }
    out.push('kinto-request-id', this.requestId);
    this.res.writeHead(statusCode, out);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.res.write(chunk)) return;
    // The caller reads slower than the block writes: hold the block's side until it drains.
    controller.pause();
    this.res.once('drain', () => controller.resume());
  }

  onResponseEnd(): void {
    this.res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (err === CALLER_LEFT) return;
    this.failed(this, err);
  }
}

/** The gateway's access facts, refilled for every request. */
export class RequestFacts implements AccessFacts {
  public requestId = '';
  public timeMs = 0;
  public envId = '';
  public method = '';
  public path = '';
  public block: string | undefined = undefined;
  public release: string | undefined = undefined;
  public commit: string | undefined = undefined;
  public status = 0;
  public durationMs = 0;
  public clientId: string | undefined = undefined;
  public readonly lambdaRequestId = undefined;
}

/** A response carries its exchange, so that shared listeners need no closure per request. */
export type Exchanged = { exchange?: Exchange };
