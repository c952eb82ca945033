// `kplane status` and `kplane chaos` (process and link faults) against a real local cluster (started by `kplane up --detach` in
// a temp dir with free ports), and `kplane down` leaving no process behind, also after the launcher
// itself was killed.
import test from 'ava';
import { isAlive } from '../../src/cluster/cluster-dir.js';
import type { ClusterProbe } from '../../src/cluster/chaos-probe.js';
import { ChaosCluster, runCli } from '../../src/testing/chaos/chaos-cluster.js';

async function statusJson(cluster: ChaosCluster): Promise<ClusterProbe> {
  const result = await runCli(['status', '--json', '--dir', cluster.dir.root]);
  if (result.code !== 0) throw new Error(`kplane status failed: ${result.output}`);
  return JSON.parse(result.output) as ClusterProbe;
}

async function eventually<T>(read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!accept(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    value = await read();
  }
  return value;
}

const oneLeader = (probe: ClusterProbe): boolean => probe.processes.filter((entry) => entry.replica?.reachable === true && entry.replica.role === 'leader').length === 1;

test.serial('status shows Raft roles and indexes and API readiness; chaos kills, pauses, resumes, restarts, partitions and heals', async (t) => {
  const cluster = await ChaosCluster.start();
  t.teardown(() => cluster.stop());
  const status = await eventually(() => statusJson(cluster), oneLeader, 10_000);
  const replicas = status.processes.filter((entry) => entry.role === 'store');
  t.is(replicas.length, 3);
  for (const entry of replicas) {
    t.true(entry.replica?.reachable, `${entry.name} answers`);
    if (entry.replica?.reachable === true) t.true(entry.replica.commitIndex > 0 && entry.replica.appliedIndex > 0);
  }
  t.true(status.processes.find((entry) => entry.role === 'apiserver')?.api?.ready, 'the API server is ready');
  const human = await runCli(['status', '--dir', cluster.dir.root]);
  t.regex(human.output, /store-\d +store +pid \d+ +running .*raft: leader term \d+ commit \d+ applied \d+/);

  const killed = await runCli(['chaos', 'kill', 'store-follower', '--dir', cluster.dir.root]);
  t.is(killed.code, 0, killed.output);
  const victim = /killed (store-\d) \(store, pid (\d+), SIGKILL\)/.exec(killed.output);
  t.truthy(victim, killed.output);
  // kill(pid, 0) still finds a killed child until its parent (the launcher) has reaped it.
  const victimPid = Number(victim?.[2]);
  t.false(await eventually(() => Promise.resolve(isAlive(victimPid)), (alive) => !alive, 5_000), 'the killed process is gone');
  const afterKill = await eventually(() => statusJson(cluster), (probe) => probe.processes.find((entry) => entry.name === victim?.[1])?.replica?.reachable === true, 20_000);
  t.is(afterKill.processes.find((entry) => entry.name === victim?.[1])?.restarts, 1, 'the launcher restarted it');

  const paused = await runCli(['chaos', 'pause', 'store-leader', '--dir', cluster.dir.root]);
  const pausedName = /paused (store-\d)/.exec(paused.output)?.[1];
  t.truthy(pausedName, paused.output);
  const whilePaused = await eventually(() => statusJson(cluster), (probe) => oneLeader(probe) && probe.processes.find((entry) => entry.name === pausedName)?.replica?.reachable === false, 15_000);
  const pausedEntry = whilePaused.processes.find((entry) => entry.name === pausedName);
  t.false(pausedEntry?.replica?.reachable, `a paused replica does not answer: ${paused.output} ${JSON.stringify(whilePaused.processes)}`);
  t.true(oneLeader(whilePaused), 'the others elected a leader');
  const resumed = await runCli(['chaos', 'resume', pausedName ?? '', '--dir', cluster.dir.root]);
  t.regex(resumed.output, /resumed store-\d/);
  await eventually(() => statusJson(cluster), (probe) => probe.processes.every((entry) => entry.role !== 'store' || entry.replica?.reachable === true), 15_000);

  const restarted = await runCli(['chaos', 'restart', 'apiserver', '--dir', cluster.dir.root]);
  t.is(restarted.code, 0, restarted.output);
  t.regex(restarted.output, /restarted apiserver-1 \(apiserver, pid \d+, SIGKILL\); running again as pid \d+/);

  const leaderName = (probe: ClusterProbe): string | undefined =>
    probe.processes.find((entry) => entry.replica?.reachable === true && entry.replica.role === 'leader')?.name;
  const before = leaderName(await eventually(() => statusJson(cluster), oneLeader, 10_000));
  const cut = await runCli(['chaos', 'partition', 'store-leader', '/', 'store', '--dir', cluster.dir.root]);
  t.is(cut.code, 0, cut.output);
  t.regex(cut.output, new RegExp(`partitioned ${before ?? '?'} / store-\\d,store-\\d`));
  const cutOff = await eventually(() => statusJson(cluster), (probe) => oneLeader(probe) && leaderName(probe) !== before, 15_000);
  t.not(leaderName(cutOff), before, 'the majority side elected another leader');
  const healed = await runCli(['chaos', 'heal', '--dir', cluster.dir.root]);
  t.regex(healed.output, /healed \(2 link rules removed\)/);
  const delayed = await runCli(['chaos', 'delay', 'store-2', '20', '--dir', cluster.dir.root]);
  t.regex(delayed.output, /delaying every frame to and from store-2 by 20 ms/);
  t.is((await runCli(['chaos', 'drop', 'store-2', '150', '--dir', cluster.dir.root])).code, 1, 'a drop rate above 100% is refused');
  await runCli(['chaos', 'heal', '--dir', cluster.dir.root]);

  const unknown = await runCli(['chaos', 'kill', 'no-such-process', '--dir', cluster.dir.root]);
  t.is(unknown.code, 1);
  t.regex(unknown.output, /no running process matches "no-such-process"/);
  const badAction = await runCli(['chaos', 'explode', 'store-1', '--dir', cluster.dir.root]);
  t.is(badAction.code, 2);

  t.deepEqual(await cluster.stop(), [], 'kplane down left no process behind');
});

test.serial('kplane down after the launcher was killed -9 leaves no orphans', async (t) => {
  const cluster = await ChaosCluster.start();
  t.teardown(() => cluster.stop());
  const state = cluster.dir.readState();
  t.truthy(state);
  process.kill(state?.launcherPid ?? 0, 'SIGKILL');
  const down = await runCli(['down', '--dir', cluster.dir.root]);
  t.is(down.code, 0, down.output);
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && (state?.processes ?? []).some((entry) => isAlive(entry.pid))) await new Promise((resolve) => setTimeout(resolve, 100));
  t.deepEqual((state?.processes ?? []).filter((entry) => isAlive(entry.pid)).map((entry) => entry.name), []);
  t.deepEqual(await cluster.stop(), []);
});
