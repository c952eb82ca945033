// The kplane side of `npm run bench:store`: 3 replica processes on loopback (fsync on, the defaults a
// cluster runs with) driven through one RemoteStoreClient, as the API server drives the store.
// Writes go to the leader (the client follows NOT_LEADER); reads are linearizable (ReadIndex).
import { performance } from 'node:perf_hooks';
import type { RemoteStoreClient } from '../src/store/client/remote-store-client.js';
import { ReplicaCluster } from '../src/testing/replica-cluster.js';
import { benchValue, readKey, READ_KEYS, writeKey, type StoreSide } from './store-sides.js';

export class KplaneSide implements StoreSide {
  readonly name = 'kplane';
  private cluster: ReplicaCluster | undefined;
  private store: RemoteStoreClient | undefined;

  async start(): Promise<void> {
    this.cluster = await ReplicaCluster.start({ size: 3, logLevel: 'warn' });
    this.store = await this.cluster.client({ requestTimeoutMs: 30_000 });
    await this.cluster.leaderId();
  }

  async put(client: number, sequence: number, _timeoutMs: number): Promise<void> {
    await this.client().put({ key: writeKey(client, sequence), value: benchValue });
  }

  async get(_client: number, sequence: number): Promise<void> {
    await this.client().range({ key: readKey(sequence) });
  }

  async preload(): Promise<void> {
    for (let i = 0; i < READ_KEYS; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => this.client().put({ key: readKey(i + j), value: benchValue })));
    }
  }

  async leader(): Promise<number> {
    const started = performance.now();
    while (performance.now() - started < 30_000) {
      try {
        return await this.replicas().leaderId(5_000);
      } catch {
        // no leader yet: ask again
      }
    }
    throw new Error('kplane has no leader');
  }

  kill9(member: number): void {
    void this.replicas().kill(member, 'SIGKILL');
  }

  async restart(member: number): Promise<void> {
    const replicas = this.replicas();
    while (replicas.isRunning(member)) await new Promise((resolve) => setTimeout(resolve, 20));
    await replicas.restart(member);
  }

  async stop(): Promise<void> {
    await this.cluster?.stopAll();
    this.cluster = undefined;
    this.store = undefined;
  }

  private client(): RemoteStoreClient {
    if (this.store === undefined) throw new Error('the kplane side is not started');
    return this.store;
  }

  private replicas(): ReplicaCluster {
    if (this.cluster === undefined) throw new Error('the kplane side is not started');
    return this.cluster;
  }
}
