// The replica endpoint's membership operations (endpoint.ts, membership.ts): a changeMembership with a
// malformed change is refused before the node sees it; a follower's NOT_LEADER names the leader's
// node from the replicated address book (a replica not in the start list); a replica without the
// operations answers INVALID_REQUEST.
import test from 'ava';
import type { ActorRef, ActorSystem } from '../../src/actors/index.js';
import { NotLeaderError } from '../../src/store/errors.js';
import { endpointBehavior } from '../../src/store/replica/endpoint.js';
import type { ReplicaEngine } from '../../src/store/replica/engine.js';
import type { MembershipChange, MembershipStatus } from '../../src/store/replica/membership.js';
import type { EndpointMessage, StoreOperation, StoreReply } from '../../src/store/replica/protocol.js';
import { makeSystem } from './actors-helpers.js';

const STATUS: MembershipStatus = { replica: 1, leader: 4, commitIndex: 7, members: [{ id: 1, role: 'voter' }], addresses: [] };

const engine = {
  status: () => ({ id: 1, term: 3, role: 'follower', leader: 4, commitIndex: 9, appliedIndex: 9, revision: 41 }),
  onStatusChange: () => undefined,
} as unknown as ReplicaEngine;

function request(system: ActorSystem, endpoint: ActorRef<EndpointMessage>, op: unknown): Promise<StoreReply> {
  return system.ask<EndpointMessage, StoreReply>(endpoint, (replyTo) => ({ type: 'store.request', op: op as StoreOperation, replyTo }), 60_000);
}

test('membership operations: validation, NOT_LEADER through the address book, and replicas without them', async (t) => {
  const { clock, system } = makeSystem();
  const seen: MembershipChange[] = [];
  const membership = {
    membership: () => STATUS,
    changeMembership: (change: MembershipChange) => {
      seen.push(change);
      return Promise.reject(new NotLeaderError(4, 'membership changes go to the leader'));
    },
  };
  const book = new Map([[4, 'store-4@127.0.0.2:7104']]);
  const endpoint = system.spawn(endpointBehavior({ engine, replicas: [{ id: 1, node: 'store-1@127.0.0.1:7101' }], addressOf: (id) => book.get(id), membership }), { name: 'store' });
  const bare = system.spawn(endpointBehavior({ engine, replicas: [] }), { name: 'bare' });
  const ask = async (target: ActorRef<EndpointMessage>, op: unknown): Promise<StoreReply> => {
    const pending = request(system, target, op);
    await clock.advance(1);
    return pending;
  };
  t.like(await ask(endpoint, { kind: 'membership' }), { ok: true, result: STATUS });
  for (const change of [{ action: 'grow', id: 4 }, { action: 'remove', id: 0 }, { action: 'add-learner', id: 4, node: 7 }, 'x']) {
    t.like(await ask(endpoint, { kind: 'changeMembership', change }), { ok: false, code: 'INVALID_REQUEST' }, JSON.stringify(change));
  }
  t.is(seen.length, 0, 'malformed changes never reach the node');
  t.like(await ask(endpoint, { kind: 'changeMembership', change: { action: 'remove', id: 2 } }), { ok: false, code: 'NOT_LEADER', leaderNode: 'store-4@127.0.0.2:7104' });
  t.deepEqual(seen, [{ action: 'remove', id: 2 }]);
  t.like(await ask(bare, { kind: 'membership' }), { ok: false, code: 'INVALID_REQUEST' });
});
