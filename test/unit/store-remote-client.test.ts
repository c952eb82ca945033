// RemoteStoreClient against a replica endpoint over a scripted engine, both in this process, over a
// real WsTransport on loopback: watches resume after a 'restored' cancel and after the endpoint
// actor stops and comes back, from the last delivered revision, with no duplicate; writes carry one
// session per write that is reused on retry; a NOT_LEADER without a hint and then an answer.
import test, { type ExecutionContext } from 'ava';
import { pino } from 'pino';
import { systemClock } from '../../src/actors/clock.js';
import { createActorSystem, Prng, type ActorRef, type ActorSystem } from '../../src/actors/index.js';
import { WsTransport } from '../../src/actors/ws-transport.js';
import { RemoteStoreClient } from '../../src/store/client/remote-store-client.js';
import type { ApplyResult, ClientSession, CommandBody, KeyValue, RangeResult } from '../../src/store/commands.js';
import { NotLeaderError } from '../../src/store/errors.js';
import { endpointBehavior } from '../../src/store/replica/endpoint.js';
import type { EngineWatch, ReplicaEngine, ReplicaStatus } from '../../src/store/replica/engine.js';
import { REPLICA_PROTOCOL, type EndpointMessage } from '../../src/store/replica/protocol.js';
import type { TimeToLive } from '../../src/store/state-machine.js';
import type { WatchBatch, WatchRequest } from '../../src/store/watch-hub.js';

const SECRET = 'remote-client-test-secret-0123456789';

interface EngineWatcher {
  readonly request: WatchRequest;
  readonly onBatch: (batch: WatchBatch) => void;
  canceled: boolean;
}

/** An engine whose watches and write outcomes the test drives. */
class ScriptedEngine implements ReplicaEngine {
  readonly watchers: EngineWatcher[] = [];
  readonly writes: Array<{ body: CommandBody; session: ClientSession | undefined }> = [];
  /** Answers for the next writes, in order (default: success at revision 100). */
  readonly writeScript: Array<() => Promise<ApplyResult>> = [];
  status(): ReplicaStatus {
    return { id: 1, term: 1, role: 'leader', leader: 1, commitIndex: 1, appliedIndex: 1, revision: 10 };
  }
  write(body: CommandBody, session?: ClientSession): Promise<ApplyResult> {
    this.writes.push({ body, session });
    const next = this.writeScript.shift();
    return next === undefined ? Promise.resolve({ type: 'put', put: { header: { revision: 100 } } }) : next();
  }
  range(): Promise<RangeResult> {
    return Promise.resolve({ header: { revision: 10 }, kvs: [], more: false, count: 0 });
  }
  timeToLive(id: number): Promise<TimeToLive> {
    return Promise.resolve({ id, ttlSeconds: -1, grantedTtlSeconds: 0, keys: [] });
  }
  watch(request: WatchRequest, onBatch: (batch: WatchBatch) => void): EngineWatch {
    const watcher: EngineWatcher = { request, onBatch, canceled: false };
    this.watchers.push(watcher);
    return { cancel: () => void (watcher.canceled = true) };
  }
  onStatusChange(): void {}
  live(): EngineWatcher[] {
    return this.watchers.filter((watcher) => !watcher.canceled);
  }
}

function kv(key: string, revision: number): KeyValue {
  return { key, value: new Uint8Array([revision]), createRevision: 1, modRevision: revision, version: 1, lease: 0 };
}

function puts(...revisions: number[]): WatchBatch {
  return { watchId: 0, revision: Math.max(...revisions), events: revisions.map((revision) => ({ type: 'PUT', kv: kv('k', revision) })) };
}

async function replica(t: ExecutionContext, engine: ScriptedEngine): Promise<{ system: ActorSystem; node: string; spawnEndpoint: () => ActorRef<EndpointMessage> }> {
  const log = pino({ level: 'silent' });
  const transport = new WsTransport({ node: 'replica-1', incarnation: `r-${Date.now()}`, listen: { host: '127.0.0.1', port: 0 }, secret: SECRET, log, clock: systemClock });
  await transport.start();
  const system = createActorSystem(
    { node: transport.local.node, incarnation: transport.local.incarnation, clock: systemClock, random: new Prng(3), log, transport, protocol: REPLICA_PROTOCOL },
    { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 500 },
  );
  t.teardown(async () => {
    await system.terminate();
    await transport.close();
  });
  const spawnEndpoint = (): ActorRef<EndpointMessage> => system.spawn(endpointBehavior({ engine, replicas: [{ id: 1, node: transport.local.node }] }), { name: 'store' });
  return { system, node: transport.local.node, spawnEndpoint };
}

async function client(t: ExecutionContext, node: string): Promise<RemoteStoreClient> {
  const created = await RemoteStoreClient.connect({ replicas: [node], secret: SECRET, requestTimeoutMs: 5_000, attemptTimeoutMs: 1_000 });
  t.teardown(() => created.close());
  return created;
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !condition()) await new Promise((resolve) => setTimeout(resolve, 10));
  return condition();
}

test('a watch resumes after a restored cancel and after its endpoint restarts, without duplicates', async (t) => {
  const engine = new ScriptedEngine();
  const { system, node, spawnEndpoint } = await replica(t, engine);
  const endpoint = spawnEndpoint();
  const store = await client(t, node);

  const seen: number[] = [];
  const cancels: WatchBatch[] = [];
  await store.watch({ key: 'k', startRevision: 5 }, (batch) => {
    seen.push(...batch.events.map((event) => event.kv.modRevision));
    if (batch.canceled !== undefined) cancels.push(batch);
  });
  t.is(engine.watchers[0]?.request.startRevision, 5);

  engine.watchers[0]?.onBatch(puts(5, 6));
  t.true(await waitFor(() => seen.length === 2));

  // A snapshot restore cancels the watch: the client re-opens from 7, and drops the replayed 6.
  const restored = engine.watchers[0];
  if (restored !== undefined) restored.canceled = true; // as the hub does: a cancelled watcher is gone
  restored?.onBatch({ watchId: 0, revision: 6, events: [], canceled: { reason: 'restored', lastRevision: 6 } });
  t.true(await waitFor(() => engine.live().length === 1 && engine.watchers.length === 2));
  t.is(engine.watchers[1]?.request.startRevision, 7);
  engine.watchers[1]?.onBatch(puts(6, 7));
  t.true(await waitFor(() => seen.length === 3));

  // The endpoint actor stops (its watch table is gone): the client re-opens once it is back.
  await system.stop(endpoint);
  t.true(engine.watchers[1]?.canceled);
  spawnEndpoint();
  t.true(await waitFor(() => engine.live().length === 1), `watchers: ${JSON.stringify(engine.watchers.map((w) => [w.request.startRevision, w.canceled]))}`);
  const reopened = engine.live()[0];
  t.is(reopened?.request.startRevision, 8);
  reopened?.onBatch(puts(8));
  t.true(await waitFor(() => seen.length === 4));
  t.deepEqual(seen, [5, 6, 7, 8]);
  t.deepEqual(cancels, []);
});

test('a write is retried under the same session; each write gets a new sequence', async (t) => {
  const engine = new ScriptedEngine();
  const { node, spawnEndpoint } = await replica(t, engine);
  spawnEndpoint();
  const store = await client(t, node);

  engine.writeScript.push(() => Promise.reject(new NotLeaderError(0, 'lost leadership')));
  const first = await store.put({ key: 'a', value: new Uint8Array([1]) });
  t.is(first.header.revision, 100);
  await store.put({ key: 'b', value: new Uint8Array([2]) });
  t.is(engine.writes.length, 3);
  const [attempt1, attempt2, second] = engine.writes.map((write) => write.session);
  t.truthy(attempt1);
  t.deepEqual(attempt1, attempt2, 'the retry reuses the session');
  t.is(second?.clientId, attempt1?.clientId, 'one lane when writes do not overlap');
  t.is(second?.sequence, (attempt1?.sequence ?? 0) + 1);
  t.true(attempt1?.clientId.startsWith(store.clientId));
});
