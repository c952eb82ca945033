// The scheduler as actors: one supervised actor per shard (its behaviour owns a SchedulerShard built
// from the actor's clock, random and logger), and a one-for-one supervisor over all shards that
// restarts a failed shard; a shard that dies for good is covered by the others through its lease
// (shard-leases.ts). Each shard gets its own API client from `clientFor` (its own credentials).

import type { ActorRef, Behavior } from '../actors/index.js';
import { childSpec, supervisor } from '../actors/index.js';
import type { ApiClient } from '../client/index.js';
import type { ProfileConfig } from './plugins/index.js';
import { SchedulerShard, type ShardOptions, type ShardStats } from './shard.js';

export interface ShardStatsReply {
  readonly index: number;
  readonly stats: ShardStats;
  readonly ownedParts: readonly number[];
}

export type ShardMessage = { readonly type: 'stats'; readonly replyTo: ActorRef<ShardStatsReply> };

export interface SchedulerActorsConfig {
  readonly shards: number;
  readonly profile?: ProfileConfig;
  readonly clientFor: (shardIndex: number) => ApiClient;
  readonly leases?: ShardOptions['leases'];
}

export function shardActorName(index: number): string {
  return `shard-${index}`;
}

export function schedulerShardBehavior(config: SchedulerActorsConfig, index: number): Behavior<ShardMessage, SchedulerShard> {
  return {
    async start(ctx) {
      const shard = new SchedulerShard({
        client: config.clientFor(index),
        clock: ctx.clock,
        random: ctx.random,
        log: ctx.log,
        index,
        shards: config.shards,
        ...(config.profile !== undefined ? { profile: config.profile } : {}),
        ...(config.leases !== undefined ? { leases: config.leases } : {}),
      });
      await shard.start();
      return shard;
    },
    receive(ctx, shard, message) {
      if (message.type === 'stats') ctx.tell(message.replyTo, { index, stats: { ...shard.stats }, ownedParts: [...shard.ownedParts()].sort((a, b) => a - b) });
      return shard;
    },
    stop(_ctx, shard) {
      shard.stop();
    },
  };
}

/** A supervisor over `config.shards` shard actors named shard-0 … shard-(N-1). */
export function schedulerSupervisor(config: SchedulerActorsConfig): Behavior<never, void> {
  return supervisor({
    children: Array.from({ length: config.shards }, (_, index) => childSpec(schedulerShardBehavior(config, index), { name: shardActorName(index) })),
  });
}
