// The two sides of `npm run bench:store` behind one interface, so that the same load generator
// (store-load.ts) drives both: etcd through its JSON gateway, kplane through its RemoteStoreClient.
import { performance } from 'node:perf_hooks';
import type { FailoverTarget } from './store-load.js';
import { EtcdCluster } from './etcd-cluster.js';

export const VALUE_BYTES = 256;
export const READ_KEYS = 1_000;

export interface StoreSide extends FailoverTarget {
  readonly name: string;
  start(): Promise<void>;
  /** A 256-byte put to a distinct key of this client. */
  put(client: number, sequence: number, timeoutMs: number): Promise<void>;
  /** A linearizable read of one of READ_KEYS preloaded keys. */
  get(client: number, sequence: number): Promise<void>;
  preload(): Promise<void>;
  stop(): Promise<void>;
}

export const benchValue = new Uint8Array(VALUE_BYTES).map((_, i) => (i * 31) & 0xff);
const runId = `${Date.now().toString(36)}${process.pid.toString(36)}`;
export const writeKey = (client: number, sequence: number): string => `/bench/${runId}/w/${client}/${sequence}`;
export const readKey = (index: number): string => `/bench/${runId}/r/${index % READ_KEYS}`;

/** etcd, every request sent to the leader (the anchor's "leader-only" figures). */
export class EtcdSide implements StoreSide {
  readonly name = 'etcd';
  private readonly cluster: EtcdCluster;
  private leaderIndex = 0;

  constructor(dir: string, basePort: number) {
    this.cluster = new EtcdCluster(dir, basePort);
  }

  async start(): Promise<void> {
    await this.cluster.start();
    this.leaderIndex = await this.cluster.leader();
  }

  async put(client: number, sequence: number, timeoutMs: number): Promise<void> {
    const member = this.leaderIndex;
    try {
      await this.cluster.put(member, writeKey(client, sequence), benchValue, timeoutMs);
    } catch (error) {
      // As the anchor's failover client does: move on to the next member and retry there next time.
      if (this.leaderIndex === member) this.leaderIndex = (member + 1) % this.cluster.size;
      throw error;
    }
  }

  async get(_client: number, sequence: number): Promise<void> {
    await this.cluster.get(this.leaderIndex, readKey(sequence), 10_000);
  }

  async preload(): Promise<void> {
    for (let i = 0; i < READ_KEYS; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => this.cluster.put(this.leaderIndex, readKey(i + j), benchValue, 10_000)));
    }
  }

  async leader(): Promise<number> {
    const started = performance.now();
    while (performance.now() - started < 30_000) {
      const leader = await this.cluster.leader();
      if (leader >= 0) return leader;
    }
    throw new Error('etcd has no leader');
  }

  kill9(member: number): void {
    this.cluster.kill9(member);
  }

  async restart(member: number): Promise<void> {
    await this.cluster.restart(member);
    this.leaderIndex = Math.max(0, await this.cluster.leader());
  }

  stop(): Promise<void> {
    return this.cluster.stop();
  }
}
