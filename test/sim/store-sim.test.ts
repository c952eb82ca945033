// The store simulator as part of `npm test`: ReplicaNodes on Raft under seeded faults (partitions,
// one-way cuts, drops, duplicates, reordering, crashes losing the unsynced tail, leader transfers),
// with seeded clients and watchers. 100 seeds with 3 replicas and 30 with 5 must hold every check
// (failing seeds print their violation and the replay command); a seed replays identically; and the
// checks can fail: deliberately broken clients and lying disks are caught within a few seeds.
import test from 'ava';
import { Prng } from '../../src/actors/random.js';
import type { Entry } from '../../src/raft/index.js';
import type { BrokenPart } from '../../src/testing/store-sim/client.js';
import { SimDisk } from '../../src/testing/store-sim/disk.js';
import { runStoreSeed, type StoreSimResult } from '../../src/testing/store-sim/run.js';
import { SimClock } from '../../src/testing/store-sim/sim-clock.js';
import { runUntil } from '../../src/testing/store-sim/sim-time.js';

function entries(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let index = from; index <= to; index++) out.push({ index, term, type: 0, data: new Uint8Array([index]) });
  return out;
}

test('the simulated disk: synced writes survive a crash, the unsynced tail does not, a new leader overwrites a suffix', async (t) => {
  const clock = new SimClock(0);
  // fsync takes 1..5 ms; a crash keeps a seeded prefix of the unsynced writes: this seed keeps none.
  const disk = new SimDisk(1, clock, new Prng(7), 5);
  const first = disk.persist(entries(1, 3, 1), { term: 1, vote: 1, commit: 2 });
  await runUntil(clock, 10);
  await first;
  t.is(disk.lastIndex(), 3);
  const overwrite = disk.persist(entries(3, 4, 2), { term: 2, vote: 2, commit: 3 });
  await runUntil(clock, 20);
  await overwrite;
  const unsynced = disk.persist(entries(5, 6, 2));
  let failed = false;
  unsynced.catch(() => {
    failed = true;
  });
  disk.crash();
  await runUntil(clock, 40);
  t.true(failed, 'the pending persist failed with the crash');
  const recovered = disk.recover();
  t.deepEqual(
    recovered.entries.map((entry) => `${entry.index}@${entry.term}`),
    ['1@1', '2@1', '3@2', '4@2'],
  );
  t.deepEqual(recovered.hardState, { term: 2, vote: 2, commit: 3 });
});

test('the simulated clock fires timers in due order, ties in the order they were set, and skips cancelled ones', (t) => {
  const clock = new SimClock(100);
  const fired: string[] = [];
  clock.setTimer(5, () => fired.push('b'));
  clock.setTimer(1, () => fired.push('a'));
  const cancelled = clock.setTimer(3, () => fired.push('x'));
  clock.setTimer(5, () => fired.push('c'));
  clock.cancelTimer(cancelled);
  while (clock.fireNext(1_000)) {
    // fire all
  }
  t.deepEqual(fired, ['a', 'b', 'c']);
  t.is(clock.now(), 105);
});

const THREE_REPLICA_SEEDS = 100;
const FIVE_REPLICA_SEEDS = 30;

function describeFailure(result: StoreSimResult): string {
  return [
    `seed=${result.seed} nodes=${result.nodes}: ${result.violation}`,
    `  replay: npm run sim:store -- --seeds 1 --start ${result.seed} --nodes ${result.nodes} --verbose`,
    `  weather: ${JSON.stringify(result.weather)}`,
    ...result.recentEvents.map((event) => `  ${event}`),
  ].join('\n');
}

async function runRange(first: number, count: number, nodes: 3 | 5): Promise<{ failures: string[]; results: StoreSimResult[] }> {
  const failures: string[] = [];
  const results: StoreSimResult[] = [];
  for (let seed = first; seed < first + count; seed++) {
    const result = await runStoreSeed(seed, { nodes });
    results.push(result);
    if (result.violation !== undefined) failures.push(describeFailure(result));
  }
  return { failures, results };
}

test.serial(`3 replicas: seeds 1..${THREE_REPLICA_SEEDS} hold every invariant`, async (t) => {
  const { failures, results } = await runRange(1, THREE_REPLICA_SEEDS, 3);
  t.deepEqual(failures, []);
  const total = (pick: (result: StoreSimResult) => number): number => results.reduce((sum, result) => sum + pick(result), 0);
  t.log(`operations ${total((r) => r.stats.operations)}, revisions ${total((r) => r.stats.revisions)}, crashes ${total((r) => r.stats.crashes)}, watch resumes ${total((r) => r.stats.watchResumes)}`);
  // The runs do real work under the weather: writes, crashes and watch resumes all happen.
  t.true(total((r) => r.stats.acknowledgedWrites) > THREE_REPLICA_SEEDS * 50);
  t.true(total((r) => r.stats.crashes) > THREE_REPLICA_SEEDS / 2);
  t.true(total((r) => r.stats.watchResumes) > THREE_REPLICA_SEEDS);
});

test.serial(`5 replicas: seeds 1..${FIVE_REPLICA_SEEDS} hold every invariant`, async (t) => {
  const { failures } = await runRange(1, FIVE_REPLICA_SEEDS, 5);
  t.deepEqual(failures, []);
});

test.serial('a seed replays identically, and different seeds differ', async (t) => {
  const first = await runStoreSeed(4242, { nodes: 3 });
  const again = await runStoreSeed(4242, { nodes: 3 });
  t.is(first.digest, again.digest);
  t.deepEqual(first.stats, again.stats);
  t.deepEqual(first.recentEvents, again.recentEvents);
  const other = await runStoreSeed(4243, { nodes: 3 });
  t.not(other.digest, first.digest);
});

const BROKEN: ReadonlyArray<readonly [BrokenPart, string]> = [
  ['ack-before-apply', 'a client that acknowledges a write before it is applied'],
  ['new-sequence-on-retry', 'a client that retries under a new sequence (no session dedup)'],
  ['fsync-lies', 'a disk whose fsync returns before the data is durable'],
];

for (const [broken, what] of BROKEN) {
  test.serial(`the checks can fail: ${what} is caught within 5 seeds`, async (t) => {
    let caught: string | undefined;
    for (let seed = 1; seed <= 5 && caught === undefined; seed++) {
      const result = await runStoreSeed(seed, { nodes: 3, broken });
      if (result.violation !== undefined) caught = `seed=${seed}: ${result.violation.split('\n')[0] ?? ''}`;
    }
    t.log(caught ?? 'not caught');
    t.not(caught, undefined, `the broken part (${broken}) was not caught in seeds 1..5`);
  });
}
