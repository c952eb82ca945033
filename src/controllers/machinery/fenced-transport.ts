// A fence around an ApiTransport: once fence() is called every further call and watch is refused and
// every open watch is stopped. The controller manager gives each leadership term its own fenced
// transport and fences it the moment the Lease is lost, so no controller of the old term acts again,
// whatever it was in the middle of. (A request already sent cannot be recalled; see docs/controllers.md.)

import type { ApiAnswer, ApiCall, ApiTransport, WatchStream, WireWatchEvent } from '../../client/index.js';

export class FencedError extends Error {
  readonly code = 'FENCED';
  readonly retryable = false;

  constructor() {
    super('this controller manager is no longer the leader');
    this.name = 'FencedError';
  }
}

export class FencedTransport implements ApiTransport {
  private fenced = false;
  private readonly streams = new Set<WatchStream>();

  constructor(private readonly inner: ApiTransport) {}

  fence(): void {
    this.fenced = true;
    for (const stream of [...this.streams]) stream.stop();
    this.streams.clear();
  }

  isFenced(): boolean {
    return this.fenced;
  }

  async call(request: ApiCall): Promise<ApiAnswer> {
    if (this.fenced) throw new FencedError();
    return this.inner.call(request);
  }

  async watch(request: ApiCall, onEvent: (event: WireWatchEvent) => void): Promise<WatchStream> {
    if (this.fenced) throw new FencedError();
    const stream = await this.inner.watch(request, (event) => {
      if (!this.fenced) onEvent(event);
    });
    if (this.fenced) {
      stream.stop();
      throw new FencedError();
    }
    this.streams.add(stream);
    void stream.ended.then(() => this.streams.delete(stream));
    return stream;
  }

  /** Fences; the inner transport belongs to the caller and stays open. */
  close(): Promise<void> {
    this.fence();
    return Promise.resolve();
  }
}
