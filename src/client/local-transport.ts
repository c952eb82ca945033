// LocalApiTransport: an ApiTransport that hands each call to an in-process ApiHandler (the API server's
// real pipeline: authorization, decoding, defaulting, validation, admission, the store) as a fixed user.
// Unit tests of controllers, the scheduler and node agents, and the simulator, run on it; nothing is
// stubbed, only the network is absent.

import type { UserInfo } from '../api/auth-types.js';
import type { ApiHandler } from '../api/pipeline.js';
import { ApiClientError } from './errors.js';
import type { ApiAnswer, ApiCall, ApiTransport, WatchStream, WireWatchEvent } from './transport.js';

export class LocalApiTransport implements ApiTransport {
  private closed = false;
  private readonly running = new Set<WatchStream>();

  constructor(
    private readonly handler: ApiHandler,
    private readonly user: UserInfo,
  ) {}

  async call(request: ApiCall): Promise<ApiAnswer> {
    const response = await this.send(request);
    if ('watch' in response) throw new TypeError('call() got a watch; use watch()');
    if ('text' in response) return { status: response.status, body: parseText(response.text) };
    return { status: response.status, body: response.body };
  }

  async watch(request: ApiCall, onEvent: (event: WireWatchEvent) => void): Promise<WatchStream> {
    const response = await this.send(request);
    if (!('watch' in response)) {
      const body = 'text' in response ? parseText(response.text) : response.body;
      throw new ApiClientError(response.status, body);
    }
    let finish: () => void = () => undefined;
    const ended = new Promise<void>((resolve) => (finish = resolve));
    let stopped = false;
    const running = await response.watch({
      event: (event) => {
        if (!stopped) onEvent({ type: event.type, object: event.object as WireWatchEvent['object'] });
      },
      end: () => {
        stopped = true;
        finish();
      },
    });
    const stream: WatchStream = {
      stop: () => {
        if (stopped) return;
        stopped = true;
        running.stop();
        this.running.delete(stream);
        finish();
      },
      ended,
    };
    this.running.add(stream);
    void ended.then(() => this.running.delete(stream));
    return stream;
  }

  close(): Promise<void> {
    this.closed = true;
    for (const stream of [...this.running]) stream.stop();
    return Promise.resolve();
  }

  private send(request: ApiCall): ReturnType<ApiHandler['handle']> {
    if (this.closed) return Promise.reject(new Error('the API transport is closed'));
    return this.handler.handle({
      method: request.method,
      path: request.path,
      query: new URLSearchParams(request.query ?? ''),
      headers: { accept: 'application/json', ...(request.contentType !== undefined ? { 'content-type': request.contentType } : {}) },
      ...(request.body !== undefined ? { body: request.body } : {}),
      user: this.user,
    });
  }
}

function parseText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { kind: 'Status', status: 'Failure', message: text };
  }
}
