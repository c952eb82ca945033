// The store's client history is linearizable over real replica processes, through faults.
// 3 replicas on loopback (src/testing/replica-cluster.ts); 12 concurrent workers on 4 RemoteStoreClients
// do get / put / delete / cas on 8 keys (every written value is unique), recording a History
// (src/testing/linearizability/history.ts) with performance.now() call and return times. A call that
// ends in TIMEOUT or UNAVAILABLE is recorded without an answer (it may have applied); NOT_LEADER must
// never reach a caller (the client retries it). Faults: kill -9 of the leader and of a follower
// (each restarted), and in a second test a kill -9 of the whole cluster and a restart. After the
// faults, one linearizable read of every key joins the history, so the checker also proves that no
// acknowledged write was lost. The checker must say ok (an 'unknown' is a failure too), and to show
// the test can fail, the same history with one injected stale read must be rejected.
// On failure: the checker's explanation, the fault timeline and the replicas' last log lines.
import test, { type ExecutionContext } from 'ava';
import { Prng } from '../../src/actors/random.js';
import type { RemoteStoreClient } from '../../src/store/client/remote-store-client.js';
import { StoreError } from '../../src/store/errors.js';
import { checkHistory } from '../../src/testing/linearizability/check.js';
import type { Operation, OperationInput, OperationOutput } from '../../src/testing/linearizability/history.js';
import { ReplicaCluster } from '../../src/testing/replica-cluster.js';

const KEYS = Array.from({ length: 8 }, (_, index) => `/lin/k${index}`);
const CLIENTS = 4;
const WORKERS_PER_CLIENT = 3;
/** Short, so that some calls end unanswered during the faults and the checker sees maybe-applied writes. */
const CLIENT_REQUEST_TIMEOUT_MS = 2_500;
/** Answered calls the workload must make between phases. */
const PROGRESS_CALLS = 300;
const CHECK_TIMEOUT_MS = 20_000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface Recorder {
  readonly history: Operation[];
  readonly faults: string[];
  readonly startedMs: number;
  /** Calls that failed in a way a caller must never see (NOT_LEADER, unexpected errors). */
  readonly misbehaviours: string[];
  acknowledged: number;
  unanswered: number;
  note(event: string): void;
}

function recorder(): Recorder {
  const startedMs = performance.now();
  const faults: string[] = [];
  return {
    history: [],
    faults,
    startedMs,
    misbehaviours: [],
    acknowledged: 0,
    unanswered: 0,
    note(event) {
      faults.push(`${(performance.now() - startedMs).toFixed(0).padStart(6)} ms  ${event}`);
    },
  };
}

/** One call against the store: what the history records of it. */
async function perform(client: RemoteStoreClient, input: OperationInput): Promise<OperationOutput> {
  switch (input.kind) {
    case 'get': {
      const result = await client.range({ key: input.key });
      const kv = result.kvs[0];
      return { kind: 'get', value: kv === undefined ? null : decoder.decode(kv.value) };
    }
    case 'put':
      await client.put({ key: input.key, value: encoder.encode(input.value) });
      return { kind: 'put' };
    case 'delete':
      await client.deleteRange({ key: input.key });
      return { kind: 'delete' };
    case 'cas': {
      const compare =
        input.expected === null
          ? { key: input.key, target: 'version' as const, result: 'equal' as const, value: 0 }
          : { key: input.key, target: 'value' as const, result: 'equal' as const, value: encoder.encode(input.expected) };
      const result = await client.txn({ compare: [compare], success: [{ put: { key: input.key, value: encoder.encode(input.value) } }], failure: [] });
      return { kind: 'cas', ok: result.succeeded };
    }
  }
}

let nextClientId = 0;

/**
 * Records one call. TIMEOUT / UNAVAILABLE: no answer (maybe applied), and the worker continues as a
 * new history client (a client of the history has at most one call in flight, and this one never ends).
 */
async function recordCall(client: RemoteStoreClient, rec: Recorder, clientId: number, input: OperationInput): Promise<{ output?: OperationOutput; nextClientId: number }> {
  const slot = rec.history.length;
  const invokedAtMs = performance.now() - rec.startedMs;
  rec.history.push({ clientId, input, invokedAtMs });
  try {
    const output = await perform(client, input);
    rec.history[slot] = { clientId, input, invokedAtMs, returnedAtMs: performance.now() - rec.startedMs, output };
    rec.acknowledged++;
    return { output, nextClientId: clientId };
  } catch (error) {
    rec.unanswered++;
    if (error instanceof StoreError && (error.code === 'TIMEOUT' || error.code === 'UNAVAILABLE')) return { nextClientId: nextClientId++ };
    rec.misbehaviours.push(`${JSON.stringify(input)}: ${error instanceof StoreError ? error.code : ''} ${error instanceof Error ? error.message : String(error)}`);
    return { nextClientId: nextClientId++ };
  }
}

/** Workers doing random get / put / delete / cas until stop() resolves. */
function startWorkload(clients: readonly RemoteStoreClient[], rec: Recorder, seed: number): { stop: () => Promise<void> } {
  let stopping = false;
  const loops: Promise<void>[] = [];
  clients.forEach((client, clientIndex) => {
    for (let lane = 0; lane < WORKERS_PER_CLIENT; lane++) {
      const worker = clientIndex * WORKERS_PER_CLIENT + lane;
      const random = new Prng(seed * 1_000 + worker + 1);
      /** The value this worker last saw per key: the expected value of its next cas there. */
      const lastSeen = new Map<string, string | null>();
      loops.push(
        (async () => {
          let clientId = nextClientId++;
          for (let sequence = 0; !stopping; sequence++) {
            const key = random.pick(KEYS);
            const value = `w${worker}-${sequence}`;
            const dice = random.next();
            const input: OperationInput =
              dice < 0.4
                ? { kind: 'get', key }
                : dice < 0.65
                  ? { kind: 'put', key, value }
                  : dice < 0.75
                    ? { kind: 'delete', key }
                    : { kind: 'cas', key, expected: lastSeen.get(key) ?? null, value };
            const { output, nextClientId: next } = await recordCall(client, rec, clientId, input);
            clientId = next;
            if (output?.kind === 'get') lastSeen.set(key, output.value);
            else if (output?.kind === 'put' && input.kind === 'put') lastSeen.set(key, input.value);
            else if (output?.kind === 'delete') lastSeen.set(key, null);
            else if (output?.kind === 'cas' && output.ok && input.kind === 'cas') lastSeen.set(key, input.value);
            else if (output === undefined) lastSeen.delete(key);
          }
        })(),
      );
    }
  });
  return {
    stop: async () => {
      stopping = true;
      await Promise.all(loops);
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until the workload has acknowledged `count` more calls (or the timeout passes). */
async function progress(rec: Recorder, count: number, timeoutMs = 15_000): Promise<boolean> {
  const target = rec.acknowledged + count;
  const deadline = Date.now() + timeoutMs;
  while (rec.acknowledged < target && Date.now() < deadline) await sleep(25);
  return rec.acknowledged >= target;
}

async function runWithFaults(t: ExecutionContext, faults: (cluster: ReplicaCluster, rec: Recorder) => Promise<void>): Promise<void> {
  const seed = Number(process.env['KPLANE_LIN_SEED'] ?? Math.floor(Math.random() * 1_000_000));
  t.log(`seed ${seed} (KPLANE_LIN_SEED=${seed} replays the workload's choices; the faults' timing is real)`);
  const cluster = await ReplicaCluster.start();
  t.teardown(() => cluster.stopAll());
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => cluster.client({ requestTimeoutMs: CLIENT_REQUEST_TIMEOUT_MS })));
  const rec = recorder();
  const report = (): string => `seed ${seed}\nfault timeline:\n${rec.faults.join('\n')}\n${cluster.allLogs()}`;

  const workload = startWorkload(clients, rec, seed);
  rec.note('workload started');
  try {
    t.true(await progress(rec, PROGRESS_CALLS), `no progress before the faults\n${report()}`);
    await faults(cluster, rec);
    t.true(await progress(rec, PROGRESS_CALLS, 20_000), `no progress after the faults\n${report()}`);
  } finally {
    await workload.stop();
  }
  rec.note('workload stopped');

  // Final linearizable reads: every acknowledged write must still show (or be overwritten by a later one).
  const reader = await cluster.client({ requestTimeoutMs: 15_000 });
  const finalReads: Operation[] = [];
  for (const key of KEYS) {
    const readerId = nextClientId++;
    const before = rec.history.length;
    await recordCall(reader, rec, readerId, { kind: 'get', key });
    const read = rec.history[before];
    if (read?.output !== undefined) finalReads.push(read);
  }
  t.is(finalReads.length, KEYS.length, `a final read went unanswered\n${report()}`);
  rec.note('final reads done');

  t.deepEqual(rec.misbehaviours, [], `errors a caller must never see\n${report()}`);
  const result = checkHistory(rec.history, { timeoutMs: CHECK_TIMEOUT_MS });
  t.log(`${rec.history.length} calls (${rec.acknowledged} answered, ${rec.unanswered} unanswered); linearizable: ${String(result.ok)}`);
  if (result.ok !== true) {
    const why = result.ok === false ? `key ${result.key}:\n${result.explanation}` : result.reason;
    t.fail(`history not shown linearizable: ${why}\n${report()}`);
  }

  // The test can fail: a read after the final reads that returns an older acknowledged value of its key
  // (values are unique, and that write returned before the final read began) must be rejected.
  const stale = staleRead(rec.history, finalReads);
  if (stale === undefined) {
    t.log('no acknowledged write was overwritten: no stale read to inject');
  } else {
    const broken = checkHistory([...rec.history, stale], { timeoutMs: CHECK_TIMEOUT_MS });
    t.is(broken.ok, false, `the checker accepted an injected stale read of ${stale.input.key}`);
    t.log(`self-check: an injected stale read of ${stale.input.key} is rejected: ${String(broken.ok === false)}`);
  }
}

/** A read, after every other call, of a value that an acknowledged put wrote and a later write replaced. */
function staleRead(history: readonly Operation[], finalReads: readonly Operation[]): Operation | undefined {
  const endMs = Math.max(...history.map((operation) => operation.returnedAtMs ?? operation.invokedAtMs)) + 1;
  for (const final of finalReads) {
    if (final.output?.kind !== 'get') continue;
    const current = final.output.value;
    const older = history.find((operation) => operation.input.kind === 'put' && operation.input.key === final.input.key && operation.output !== undefined && operation.input.value !== current);
    if (older?.input.kind !== 'put') continue;
    return { clientId: nextClientId++, input: { kind: 'get', key: final.input.key }, invokedAtMs: endMs, returnedAtMs: endMs + 1, output: { kind: 'get', value: older.input.value } };
  }
  return undefined;
}

test.serial('linearizable through kill -9 of the leader and of a follower (each restarted)', async (t) => {
  await runWithFaults(t, async (cluster, rec) => {
    const leader = await cluster.leaderId();
    rec.note(`kill -9 leader ${leader}`);
    await cluster.kill(leader, 'SIGKILL');
    t.true(await progress(rec, PROGRESS_CALLS, 20_000), 'no progress after the leader kill');
    rec.note('progress after the leader kill');
    await cluster.restart(leader);
    rec.note(`restarted ${leader}`);
    await progress(rec, PROGRESS_CALLS / 2);
    const newLeader = await cluster.leaderId();
    const follower = cluster.replicas.map((replica) => replica.id).find((id) => id !== newLeader) ?? 0;
    rec.note(`kill -9 follower ${follower} (leader ${newLeader})`);
    await cluster.kill(follower, 'SIGKILL');
    t.true(await progress(rec, PROGRESS_CALLS, 20_000), 'no progress after the follower kill');
    await cluster.restart(follower);
    rec.note(`restarted ${follower}`);
  });
});

test.serial('linearizable through a full-cluster kill -9 and restart', async (t) => {
  await runWithFaults(t, async (cluster, rec) => {
    rec.note('kill -9 of every replica');
    await Promise.all(cluster.replicas.map((replica) => cluster.kill(replica.id, 'SIGKILL')));
    await sleep(300);
    await Promise.all(cluster.replicas.map((replica) => cluster.restart(replica.id)));
    rec.note('every replica restarted');
    const leader = await cluster.leaderId();
    rec.note(`leader ${leader}`);
  });
});
