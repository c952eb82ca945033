// The replica's client endpoint (src/store/replica/endpoint.ts) over a scripted ReplicaEngine, in one
// in-process actor system on a virtual clock: concurrent engine calls, error mapping (NOT_LEADER with
// the leader's node), validation of bodies before the engine sees them, watch forwarding and
// cancellation (unwatch, target death); and the client's session lanes (session-lanes.ts).
import test from 'ava';
import type { ActorRef, ActorSystem } from '../../src/actors/index.js';
import { SessionLanes } from '../../src/store/client/session-lanes.js';
import type { ApplyResult, ClientSession, CommandBody, RangeRequest, RangeResult } from '../../src/store/commands.js';
import { CompactedError, NotLeaderError } from '../../src/store/errors.js';
import { endpointBehavior } from '../../src/store/replica/endpoint.js';
import type { EngineWatch, ReplicaEngine, ReplicaStatus } from '../../src/store/replica/engine.js';
import type { EndpointMessage, StoreOperation, StoreReply, WatcherMessage } from '../../src/store/replica/protocol.js';
import type { TimeToLive } from '../../src/store/state-machine.js';
import type { WatchBatch, WatchRequest } from '../../src/store/watch-hub.js';
import { flushMicrotasks, VirtualClock } from '../../src/testing/virtual-clock.js';
import { makeSystem, recorder, type TestMessage } from './actors-helpers.js';

const REPLICAS = [
  { id: 1, node: 'replica-1@127.0.0.1:1' },
  { id: 2, node: 'replica-2@127.0.0.1:2' },
];

/** A ReplicaEngine whose write outcomes the test decides. */
class ScriptedEngine implements ReplicaEngine {
  readonly writes: Array<{ body: CommandBody; session: ClientSession | undefined; resolve: (result: ApplyResult) => void; reject: (error: Error) => void }> = [];
  readonly watches: Array<{ request: WatchRequest; onBatch: (batch: WatchBatch) => void; canceled: boolean }> = [];
  watchError: Error | undefined;

  status(): ReplicaStatus {
    return { id: 1, term: 3, role: 'follower', leader: 2, commitIndex: 9, appliedIndex: 9, revision: 41 };
  }
  write(body: CommandBody, session?: ClientSession): Promise<ApplyResult> {
    return new Promise((resolve, reject) => this.writes.push({ body, session, resolve, reject }));
  }
  range(request: RangeRequest): Promise<RangeResult> {
    return Promise.resolve({ header: { revision: 41 }, kvs: [], more: false, count: request.key.length });
  }
  timeToLive(id: number): Promise<TimeToLive> {
    return Promise.resolve({ id, ttlSeconds: -1, grantedTtlSeconds: 0, keys: [] });
  }
  watch(request: WatchRequest, onBatch: (batch: WatchBatch) => void): EngineWatch {
    if (this.watchError !== undefined) throw this.watchError;
    const entry = { request, onBatch, canceled: false };
    this.watches.push(entry);
    return { cancel: () => void (entry.canceled = true) };
  }
  onStatusChange(): void {}
}

function setup(): { clock: VirtualClock; system: ActorSystem; engine: ScriptedEngine; endpoint: ActorRef<EndpointMessage> } {
  const { clock, system } = makeSystem();
  const engine = new ScriptedEngine();
  const endpoint = system.spawn(endpointBehavior({ engine, replicas: REPLICAS }), { name: 'store' });
  return { clock, system, engine, endpoint };
}

function request(system: ActorSystem, endpoint: ActorRef<EndpointMessage>, op: unknown): Promise<StoreReply> {
  return system.ask<EndpointMessage, StoreReply>(endpoint, (replyTo) => ({ type: 'store.request', op: op as StoreOperation, replyTo }), 60_000);
}

/** The virtual clock runs the mailboxes: advance it, then take the answer. */
async function pumped<T>(clock: VirtualClock, pending: Promise<T>): Promise<T> {
  await clock.advance(1);
  return pending;
}

const put = (key: string): CommandBody => ({ type: 'put', put: { key, value: new Uint8Array([1]) } });

test('a write waiting for its commit does not hold up the requests behind it', async (t) => {
  const { clock, system, engine, endpoint } = setup();
  const write = request(system, endpoint, { kind: 'write', body: put('a'), session: { clientId: 'c.1', sequence: 4 } });
  await clock.advance(1);
  t.is(engine.writes.length, 1);
  t.deepEqual(engine.writes[0]?.session, { clientId: 'c.1', sequence: 4 });
  const read = await Promise.race([request(system, endpoint, { kind: 'range', request: { key: 'abc' }, serializable: false }), clock.advance(5).then(() => 'stuck' as const)]);
  t.like(read, { ok: true, result: { count: 3 } });
  engine.writes[0]?.resolve({ type: 'put', put: { header: { revision: 42 } } });
  await clock.advance(1);
  t.like(await write, { ok: true, result: { type: 'put', put: { header: { revision: 42 } } } });
});

test('errors map to codes; NOT_LEADER names the leader node; non-store errors are UNAVAILABLE', async (t) => {
  const { clock, system, engine, endpoint } = setup();
  const replies = [0, 1, 2, 3, 4].map(() => request(system, endpoint, { kind: 'write', body: put('k') }));
  await clock.advance(1);
  engine.writes[0]?.reject(new NotLeaderError(2));
  engine.writes[1]?.reject(new NotLeaderError(0));
  engine.writes[2]?.reject(new CompactedError(3, 7));
  engine.writes[3]?.resolve({ type: 'error', code: 'LEASE_NOT_FOUND', message: 'no lease 5', header: { revision: 1 } });
  engine.writes[4]?.reject(new Error('disk on fire'));
  await clock.advance(1);
  const [a, b, c, d, e] = await Promise.all(replies);
  t.like(a, { ok: false, code: 'NOT_LEADER', leaderNode: 'replica-2@127.0.0.1:2' });
  t.like(b, { ok: false, code: 'NOT_LEADER' });
  t.false(b !== undefined && 'leaderNode' in b);
  t.like(c, { ok: false, code: 'COMPACTED', compactRevision: 7 });
  t.like(d, { ok: false, code: 'LEASE_NOT_FOUND', message: 'no lease 5' });
  t.like(e, { ok: false, code: 'UNAVAILABLE' });
  t.like(await pumped(clock, request(system, endpoint, { kind: 'status' })), { ok: true, result: { leader: 2, revision: 41 } });
});

test('garbage bodies are refused before the engine sees them', async (t) => {
  const { clock, system, engine, endpoint } = setup();
  t.like(await pumped(clock, request(system, endpoint, { kind: 'write', body: { type: 'put', put: { key: 1 } } })), { ok: false, code: 'BAD_COMMAND' });
  t.like(await pumped(clock, request(system, endpoint, { kind: 'write', body: put('a'), session: { clientId: 'x', sequence: 0 } })), { ok: false, code: 'BAD_COMMAND' });
  t.like(await pumped(clock, request(system, endpoint, { kind: 'write', body: { type: 'txn', txn: { compare: 'no' } } })), { ok: false, code: 'BAD_COMMAND' });
  t.like(await pumped(clock, request(system, endpoint, { kind: 'range', request: { key: 'a', sortOrder: 'sideways' }, serializable: true })), { ok: false, code: 'INVALID_REQUEST' });
  t.like(await pumped(clock, request(system, endpoint, { kind: 'teleport' })), { ok: false, code: 'INVALID_REQUEST' });
  t.is(engine.writes.length, 0);
});

test('watches: batches reach the target; unwatch and the death of the target cancel them', async (t) => {
  const { clock, system, engine, endpoint } = setup();
  const received: TestMessage[] = [];
  const target = system.spawn(recorder(received), { name: 'watcher' }) as unknown as ActorRef<WatcherMessage>;
  const open = (watchId: string, request: unknown): Promise<StoreReply> =>
    system.ask<EndpointMessage, StoreReply>(endpoint, (replyTo) => ({ type: 'store.watch', watchId, request: request as WatchRequest, target, replyTo }), 60_000);

  t.like(await pumped(clock, open('w1', { key: 'a', startRevision: 0 })), { ok: true, result: { revision: 41 } });
  t.like(await pumped(clock, open('w1', { key: 'a' })), { ok: false, code: 'INVALID_REQUEST' }, 'a watch id is unique per target');
  t.like(await pumped(clock, open('w2', { key: 'b', prevKv: 'yes' })), { ok: false, code: 'INVALID_REQUEST' });
  t.like(await pumped(clock, open('w3', { key: 'c', rangeEnd: 'd' })), { ok: true });
  engine.watchError = new CompactedError(2, 30);
  t.like(await pumped(clock, open('w4', { key: 'e', startRevision: 2 })), { ok: false, code: 'COMPACTED', compactRevision: 30 });
  engine.watchError = undefined;
  t.is(engine.watches.length, 2);

  engine.watches[0]?.onBatch({ watchId: 0, revision: 42, events: [] });
  await clock.advance(1);
  t.like(received[0], { type: 'store.watchBatch', watchId: 'w1', batch: { revision: 42 } });

  system.tell(endpoint, { type: 'store.unwatch', watchId: 'w1', target });
  await clock.advance(1);
  t.true(engine.watches[0]?.canceled);
  t.false(engine.watches[1]?.canceled);

  await system.stop(target);
  await clock.advance(1);
  await flushMicrotasks();
  t.true(engine.watches[1]?.canceled, 'the dead target\u2019s watches are cancelled');
});

test('session lanes: one write per lane, sequences increase per lane, FIFO beyond the lane limit', async (t) => {
  const lanes = new SessionLanes('client', 2);
  const first = await lanes.acquire();
  const second = await lanes.acquire();
  t.not(first.clientId, second.clientId);
  t.deepEqual(SessionLanes.next(first), { clientId: 'client.1', sequence: 1 });
  const order: string[] = [];
  const third = lanes.acquire().then((lane) => {
    order.push('third');
    return lane;
  });
  const fourth = lanes.acquire().then((lane) => {
    order.push('fourth');
    return lane;
  });
  await flushMicrotasks();
  t.deepEqual(order, []);
  lanes.release(first);
  t.is(await third, first);
  t.deepEqual(SessionLanes.next(first), { clientId: 'client.1', sequence: 2 });
  lanes.release(second);
  t.is(await fourth, second);
  t.deepEqual(order, ['third', 'fourth']);
  t.is(lanes.laneCount, 2);
});
