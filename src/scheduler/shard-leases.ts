// Shard membership through Leases: shard i renews Lease `<scheduler>-shard-<i>` in kube-system every
// renewIntervalMs and reads the others'. A shard whose lease has not changed for its duration (as
// observed on the reader's own clock, like client-go's leader election, so clocks need not agree) is
// dead, and its part of the pods goes to the next live shard in ring order. When it comes back (its
// supervisor restarts it with the same index) its lease moves again and the part returns to it.
//
// Views of liveness may differ for a moment, so two shards may briefly both schedule a part's pods;
// that is safe: a pod is bound once (the binding is a 409 for the second), and no node is
// overcommitted (docs/decisions/0005-no-overcommit-binding.md).

import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../actors/clock.js';
import { isAlreadyExists, isNotFound, LEASES, metaOf, type ApiClient } from '../client/index.js';

export const SHARD_LEASE_NAMESPACE = 'kube-system';
export const SHARD_LEASE_DURATION_SECONDS = 10;
export const SHARD_LEASE_RENEW_INTERVAL_MS = 2_000;

export interface ShardMembershipOptions {
  readonly client: ApiClient;
  readonly clock: Clock;
  readonly log: Logger;
  readonly schedulerName: string;
  readonly index: number;
  readonly shards: number;
  readonly leaseDurationSeconds?: number;
  readonly renewIntervalMs?: number;
  /** Called when the set of parts this shard owns changes. */
  readonly onOwnershipChange: (owned: ReadonlySet<number>) => void;
}

interface Observation {
  readonly renewTime: string;
  readonly observedAtMs: number;
}

export function shardLeaseName(schedulerName: string, index: number): string {
  return `${schedulerName}-shard-${index}`;
}

/**
 * Which parts `self` owns, given which shards are live: its own, and each dead part whose next live
 * shard in ring order is `self`. Pure.
 */
export function ownedParts(self: number, shards: number, live: (index: number) => boolean): Set<number> {
  const owned = new Set<number>([self]);
  for (let part = 0; part < shards; part++) {
    if (part === self || live(part)) continue;
    for (let step = 1; step < shards; step++) {
      const candidate = (part + step) % shards;
      if (candidate === self || live(candidate)) {
        if (candidate === self) owned.add(part);
        break;
      }
    }
  }
  return owned;
}

export class ShardMembership {
  private readonly observations = new Map<number, Observation>();
  private owned: ReadonlySet<number>;
  private timer: TimerHandle | undefined;
  private stopped = false;
  private readonly durationMs: number;

  constructor(private readonly options: ShardMembershipOptions) {
    this.owned = new Set([options.index]);
    this.durationMs = (options.leaseDurationSeconds ?? SHARD_LEASE_DURATION_SECONDS) * 1000;
  }

  ownedParts(): ReadonlySet<number> {
    return this.owned;
  }

  /** Renews once (so the first view exists), then every renewIntervalMs. */
  async start(): Promise<void> {
    await this.tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.options.clock.cancelTimer(this.timer);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.renew();
      await this.observe();
    } catch (error) {
      this.options.log.warn({ err: error }, 'shard lease round failed; keeping the last view');
    }
    if (this.stopped) return;
    this.timer = this.options.clock.setTimer(this.options.renewIntervalMs ?? SHARD_LEASE_RENEW_INTERVAL_MS, () => void this.tick());
  }

  private async renew(): Promise<void> {
    const { client, schedulerName, index } = this.options;
    const name = shardLeaseName(schedulerName, index);
    const spec = { holderIdentity: name, leaseDurationSeconds: this.durationMs / 1000, renewTime: new Date(this.options.clock.now()).toISOString().replace(/Z$/, '000Z') };
    try {
      await client.patch(LEASES, SHARD_LEASE_NAMESPACE, name, { spec });
    } catch (error) {
      if (!isNotFound(error)) throw error;
      try {
        await client.create(LEASES, SHARD_LEASE_NAMESPACE, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: SHARD_LEASE_NAMESPACE }, spec });
      } catch (createError) {
        if (!isAlreadyExists(createError)) throw createError;
      }
    }
  }

  private async observe(): Promise<void> {
    const { client, schedulerName, shards, index } = this.options;
    const now = this.options.clock.now();
    const leases = await client.list(LEASES, { namespace: SHARD_LEASE_NAMESPACE });
    const prefix = `${schedulerName}-shard-`;
    for (const lease of leases.items) {
      const name = metaOf(lease).name ?? '';
      if (!name.startsWith(prefix)) continue;
      const part = Number(name.slice(prefix.length));
      if (!Number.isInteger(part) || part < 0 || part >= shards || part === index) continue;
      const renewTime = String((lease['spec'] as { renewTime?: unknown } | undefined)?.renewTime ?? '');
      const previous = this.observations.get(part);
      if (previous === undefined || previous.renewTime !== renewTime) this.observations.set(part, { renewTime, observedAtMs: now });
    }
    const live = (part: number): boolean => {
      if (part === index) return true;
      const observation = this.observations.get(part);
      return observation !== undefined && now - observation.observedAtMs < this.durationMs;
    };
    const next = ownedParts(index, shards, live);
    if (next.size !== this.owned.size || [...next].some((part) => !this.owned.has(part))) {
      this.options.log.info({ owned: [...next].sort((a, b) => a - b) }, 'scheduler shard ownership changed');
      this.owned = next;
      this.options.onOwnershipChange(next);
    }
  }
}
