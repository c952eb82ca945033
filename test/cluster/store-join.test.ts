// Store replicas join and leave a running Raft group as real processes (docs/multi-host.md "Joining",
// docs/decisions/0009-store-membership.md): a 3-replica store and an API server started by
// `kplane up --only store,apiserver` in cluster directory A, objects written through the API; then
// `kplane join store-4` from A (its running launcher takes the replica on) and `kplane join store-5`
// from directory B, another "machine" given A's credentials (no launcher runs there: join starts one),
// both bound to 127.0.0.2. 5 voters (kplane status --json and each replica's status say so), and the
// API server's store client learns them. Two original replicas are killed -9 (the launcher restarts
// them), then stopped for good (SIGSTOP: down and silent, as a dead machine), and the API still reads
// every object written before and accepts writes.
// Then `kplane leave` removes one: 4 voters, its process stopped, nothing acknowledged lost; and a
// `kplane down` + `up` of A starts its joined replica again and not the removed one; the API server,
// restarted, finds store-5 (not in A's lists) from the membership.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { ClusterDir, isAlive } from '../../src/cluster/cluster-dir.js';
import type { ClusterProbe } from '../../src/cluster/chaos-probe.js';
import type { ClusterConfigInput } from '../../src/cluster/config.js';
import { freePortRange, runCli } from '../../src/testing/chaos/chaos-cluster.js';
import { eventually } from '../../src/testing/chaos/pod-invariants.js';

const NEW_HOST = '127.0.0.2';
const WAIT_MS = 60_000;
const MEMBERSHIP_CLI_MS = 240_000;

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function statusJson(dir: ClusterDir): Promise<ClusterProbe & { running: boolean }> {
  const result = await runCli(['status', '--json', '--dir', dir.root]);
  return JSON.parse(result.output) as ClusterProbe & { running: boolean };
}

function voterIds(probe: ClusterProbe | undefined): number[] {
  return (probe?.storeMembership?.members ?? []).filter((member) => member.role === 'voter').map((member) => member.id);
}

test('store-4 and store-5 join a running group from two directories (5 voters), the API survives two originals killed and then down, a leave makes 4 voters, a restart keeps them', async (t) => {
  t.timeout(900_000);
  const root = mkdtempSync(join(tmpdir(), 'kplane-join-'));
  const base = await freePortRange(7);
  const input: ClusterConfigInput = {
    name: 'join',
    store: { replicas: 3, basePort: base },
    apiServer: { count: 1, port: base + 5, actorPort: base + 6 },
    scheduler: { shards: 1 },
    nodes: { simulatedProcesses: 0, processNodes: 0 },
    processes: { 'store-4': { advertise: NEW_HOST }, 'store-5': { advertise: NEW_HOST } },
  };
  const configFile = join(root, 'cluster.json');
  writeFileSync(configFile, JSON.stringify(input));
  const dir = new ClusterDir(join(root, 'dir'));
  const otherHost = new ClusterDir(join(root, 'other-host'));
  t.teardown(async () => {
    for (const group of [dir, otherHost]) {
      const state = group.readState();
      await runCli(['down', '--dir', group.root]);
      for (const pid of [state?.launcherPid, ...(group.readState()?.processes ?? []).map((entry) => entry.pid)]) {
        if (pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGKILL');
      }
    }
    if (process.env['KPLANE_CHAOS_KEEP'] !== '1') rmSync(root, { recursive: true, force: true });
  });

  const upResult = await runCli(['up', '--detach', '--only', 'store,apiserver', '--dir', dir.root, '--config', configFile]);
  t.is(upResult.code, 0, upResult.output);
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(join(dir.root, 'kubeconfig'));
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const written: string[] = [];
  const write = async (name: string): Promise<void> => {
    // Retried on errors (an election, a failover); an AlreadyExists means an earlier try was applied.
    const created = await eventually(
      async () => {
        try {
          await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name }, data: { name } } });
          return true;
        } catch (error) {
          if ((error as { code?: number }).code === 409) return true;
          throw error;
        }
      },
      (ok) => ok,
      WAIT_MS,
    );
    t.true(created, `configmap ${name} was written`);
    written.push(name);
  };
  const readsEverything = async (): Promise<string[]> => {
    const list = await core.listNamespacedConfigMap({ namespace: 'default' });
    const names = new Set(list.items.map((item) => item.metadata?.name));
    return written.filter((name) => !names.has(name));
  };
  for (let i = 0; i < 20; i++) await write(`before-join-${i}`);

  const exported = await runCli(['export-credentials', otherHost.root, '--dir', dir.root, '--config', configFile]);
  t.is(exported.code, 0, exported.output);
  for (const [name, group] of [['store-4', dir], ['store-5', otherHost]] as const) {
    const joined = await runCli(['join', name, '--dir', group.root, '--config', configFile], MEMBERSHIP_CLI_MS);
    t.is(joined.code, 0, joined.output);
    t.regex(joined.output, new RegExp(`${name} is a voter`));
    await write(`after-${name}`);
  }
  const five = await eventually(() => statusJson(dir), (probe) => voterIds(probe).length === 5, WAIT_MS);
  t.deepEqual(voterIds(five), [1, 2, 3, 4, 5], JSON.stringify(five?.storeMembership));
  const elsewhere = await eventually(() => statusJson(otherHost), (probe) => voterIds(probe).length === 5, WAIT_MS);
  for (const [name, probe] of [['store-4', five], ['store-5', elsewhere]] as const) {
    const entry = probe?.processes.find((process) => process.name === name);
    t.is(entry?.status, 'running', `${name} is supervised by its directory's launcher`);
    t.true(entry?.replica?.reachable === true && entry.replica.appliedIndex > 20, `${name} answers its status and has applied the log: ${JSON.stringify(entry?.replica)}`);
  }
  t.deepEqual(elsewhere?.processes.map((process) => process.name), ['store-5'], 'the other host runs only its replica');
  t.true(await accepts(NEW_HOST, base + 3), 'store-4 listens on 127.0.0.2');
  t.false(await accepts('127.0.0.1', base + 3), 'store-4 does not listen on 127.0.0.1');
  t.deepEqual(dir.readMembers(), { joined: [4], removed: [] });
  t.deepEqual(otherHost.readMembers(), { joined: [5], removed: [] });

  // The API server's store client learns store-4 and store-5 from the membership.
  const apiLog = dir.logFile('apiserver-1');
  const learned = await eventually(
    () => Promise.resolve(readFileSync(apiLog, 'utf8')),
    (text) => text.includes('store replica list changed') && text.includes(`store-5@${NEW_HOST}:${base + 4}`),
    WAIT_MS,
  );
  t.truthy(learned, 'the API server\'s store client added the new replicas to its list');

  // Two original replicas are killed -9: the launcher restarts them; nothing is lost meanwhile.
  for (const name of ['store-1', 'store-2']) {
    const killed = await runCli(['chaos', 'kill', name, '--dir', dir.root]);
    t.is(killed.code, 0, killed.output);
  }
  t.deepEqual(await eventually(readsEverything, (left) => left.length === 0, WAIT_MS), [], 'every object read after the kills');
  await write('after-kills');
  await eventually(() => statusJson(dir), (probe) => ['store-1', 'store-2'].every((name) => probe.processes.some((process) => process.name === name && process.status === 'running' && process.replica?.reachable === true)), WAIT_MS);
  // Then they go down and stay down: 3 of 5 voters remain, a quorum.
  for (const name of ['store-1', 'store-2']) {
    const paused = await runCli(['chaos', 'pause', name, '--dir', dir.root]);
    t.is(paused.code, 0, paused.output);
  }
  const missing = await eventually(readsEverything, (left) => left.length === 0, WAIT_MS);
  t.deepEqual(missing, [], 'every object written before is read with store-1 and store-2 down');
  for (let i = 0; i < 5; i++) await write(`two-down-${i}`);
  t.deepEqual(await readsEverything(), []);
  for (const name of ['store-1', 'store-2']) {
    const resumed = await runCli(['chaos', 'resume', name, '--dir', dir.root]);
    t.is(resumed.code, 0, resumed.output);
  }

  // store-1 leaves: 4 voters, its process stopped and not listed any more.
  const left = await runCli(['leave', 'store-1', '--dir', dir.root], MEMBERSHIP_CLI_MS);
  t.is(left.code, 0, left.output);
  t.regex(left.output, /store-1 removed/);
  const four = await eventually(() => statusJson(dir), (probe) => voterIds(probe).length === 4 && !probe.processes.some((process) => process.name === 'store-1'), WAIT_MS);
  t.deepEqual(voterIds(four), [2, 3, 4, 5], JSON.stringify(four?.storeMembership));
  t.false(await accepts('127.0.0.1', base), 'store-1 no longer listens');
  t.deepEqual(dir.readMembers(), { joined: [4], removed: [1] });
  await write('after-leave');
  const finalMissing = await eventually(readsEverything, (left) => left.length === 0, WAIT_MS);
  t.deepEqual(finalMissing, [], 'no acknowledged write lost');
  t.is(written.length, 20 + 2 + 1 + 5 + 1);

  // A restart of the whole share: `up` starts the joined replicas again and not the removed one;
  // every replica and the API server know the group from the recorded members and the replicated log.
  const down = await runCli(['down', '--dir', dir.root]);
  t.is(down.code, 0, down.output);
  const again = await runCli(['up', '--detach', '--only', 'store,apiserver', '--dir', dir.root, '--config', configFile]);
  t.is(again.code, 0, again.output);
  t.deepEqual(dir.readState()?.processes.map((entry) => entry.name), ['store-2', 'store-3', 'store-4', 'apiserver-1']);
  const restarted = await eventually(() => statusJson(dir), (probe) => voterIds(probe).length === 4, WAIT_MS);
  t.deepEqual(voterIds(restarted), [2, 3, 4, 5], JSON.stringify(restarted?.storeMembership));
  const afterRestart = await eventually(readsEverything, (left) => left.length === 0, WAIT_MS);
  t.deepEqual(afterRestart, [], 'every object is there after the restart');
  await write('after-restart');
});
