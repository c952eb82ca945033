// Real-process crash tests: a child process appends to a WAL and is SIGKILLed at a named crash point
// (KPLANE_CRASH_POINT); reopening must find every append the child saw acknowledged, in order.
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { CRASH_POINT_ENV, crashPointsFromEnv } from '../../src/raft/crash-points.js';
import { Wal } from '../../src/raft/wal.js';

const log = pino({ level: 'silent' });
const child = fileURLToPath(new URL('./wal-crash-child.js', import.meta.url));
const dirs: string[] = [];

test.after.always(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

function runChild(dir: string, crashPoint: string): Promise<{ acked: number; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const childProcess = spawn(process.execPath, [child, dir], {
      env: { ...process.env, [CRASH_POINT_ENV]: crashPoint },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    childProcess.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    childProcess.once('error', reject);
    childProcess.once('close', (_code, signal) => {
      const acked = output.split('\n').filter((line) => line.startsWith('acked ')).length;
      resolve({ acked, signal });
    });
  });
}

for (const crashPoint of ['wal.after-write-before-sync@37', 'wal.after-sync@52', 'wal.after-segment-create@3']) {
  test(`SIGKILL at ${crashPoint}: every acknowledged append survives`, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'kplane-wal-crash-'));
    dirs.push(dir);
    const { acked, signal } = await runChild(dir, crashPoint);
    t.is(signal, 'SIGKILL');
    t.true(acked > 0, 'the child acknowledged some appends before dying');
    const { wal, recovered } = await Wal.open(dir, { log });
    t.true(recovered.entries.length >= acked, `recovered ${recovered.entries.length} < acknowledged ${acked}`);
    t.deepEqual(recovered.entries.map((entry) => entry.index), Array.from({ length: recovered.entries.length }, (_, i) => i + 1));
    t.is(recovered.hardState?.commit, recovered.entries.length);
    await wal.close();
  });
}

test('a bad KPLANE_CRASH_POINT is refused with the list of known points', (t) => {
  t.throws(() => crashPointsFromEnv({ [CRASH_POINT_ENV]: 'wal.nowhere' }), { message: /known points: wal\.after-write-before-sync/ });
  t.throws(() => crashPointsFromEnv({ [CRASH_POINT_ENV]: 'wal.after-sync@x' }));
});
