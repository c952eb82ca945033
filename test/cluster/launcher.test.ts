// The launcher as an OS-level supervisor: ordered start, restart after kill -9, reverse-order stop,
// and no orphan processes afterwards.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { ClusterDir, isAlive } from '../../src/cluster/cluster-dir.js';
import { Launcher, RESTART_BACKOFF_MIN_MS, type ProcessSpec } from '../../src/cluster/launcher.js';

const childEntry = fileURLToPath(new URL('../fixtures/launcher-child.js', import.meta.url));

function journalLines(journal: string): string[] {
  try {
    return readFileSync(journal, 'utf8').trim().split('\n');
  } catch {
    return [];
  }
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return condition();
}

test('starts in order, restarts a killed process, stops in reverse order leaving no orphans', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'kplane-launcher-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const dir = new ClusterDir(root);
  dir.ensure();
  const journal = join(root, 'journal.txt');
  const specs: ProcessSpec[] = ['first', 'second', 'third'].map((name) => {
    dir.processDir(name);
    return { name, role: 'fixture', entry: childEntry, args: [journal, name], env: {}, ports: {} };
  });
  const launcher = new Launcher(dir, 'test', pino({ level: 'silent' }));
  t.teardown(() => launcher.stop());
  const progress: string[] = [];
  await launcher.start(specs, (line) => progress.push(line));

  t.deepEqual(journalLines(journal).map((line) => line.split(' ').slice(0, 2).join(' ')), ['start first', 'start second', 'start third']);
  t.true(dir.readState()?.ready);
  t.is(progress.length, 6);

  const secondPid = launcher.processes()[1]?.pid;
  t.truthy(secondPid);
  process.kill(secondPid as number, 'SIGKILL');
  const restarted = await waitFor(() => {
    const state = launcher.processes()[1];
    return state?.status === 'running' && state.pid !== secondPid;
  }, RESTART_BACKOFF_MIN_MS + 10_000);
  t.true(restarted, 'the killed process was restarted');
  t.is(launcher.processes()[1]?.restarts, 1);

  const pids = launcher.processes().map((entry) => entry.pid as number);
  await launcher.stop();
  const stops = journalLines(journal).filter((line) => line.startsWith('stop')).map((line) => line.split(' ')[1]);
  t.deepEqual(stops, ['third', 'second', 'first']);
  t.true(pids.every((pid) => !isAlive(pid)), 'no process outlives the launcher');
});

test('a process that exits before it is ready fails the start with a reason', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'kplane-launcher-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const dir = new ClusterDir(root);
  dir.ensure();
  dir.processDir('broken');
  const launcher = new Launcher(dir, 'test', pino({ level: 'silent' }));
  t.teardown(() => launcher.stop());
  // No journal argument: the fixture exits with code 2 before saying it is ready.
  const spec: ProcessSpec = { name: 'broken', role: 'fixture', entry: childEntry, args: [], env: {}, ports: {} };
  const error = await t.throwsAsync(launcher.start([spec], () => undefined));
  t.regex(error?.message ?? '', /broken exited before it was ready \(code 2/);
});
