// `kplane logs COMPONENT [-f]`: pretty-prints a process's JSON log; with -f it keeps printing what the
// process appends (a line still being written waits for its end).

import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const line = (msg: string): string => `${JSON.stringify({ level: 30, time: 1_796_000_000_000, node: 'store-1', msg })}\n`;

function clusterDir(): string {
  const root = mkdtempSync(join(tmpdir(), 'kplane-logs-'));
  mkdirSync(join(root, 'store-1'), { recursive: true });
  writeFileSync(join(root, 'store-1', 'log.jsonl'), line('first line'));
  return root;
}

test('logs prints the log; an unknown component is an error', (t) => {
  const root = clusterDir();
  try {
    const shown = spawnSync(process.execPath, [CLI, 'logs', 'store-1', '--dir', root], { encoding: 'utf8' });
    t.is(shown.status, 0);
    t.regex(shown.stdout, /first line/);
    const missing = spawnSync(process.execPath, [CLI, 'logs', 'nobody', '--dir', root], { encoding: 'utf8' });
    t.is(missing.status, 1);
    t.regex(missing.stderr, /no log for nobody/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('logs -f prints lines appended later, and a half-written line only once it ends', async (t) => {
  const root = clusterDir();
  const child = spawn(process.execPath, [CLI, 'logs', 'store-1', '-f', '--dir', root]);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const waitFor = async (pattern: RegExp): Promise<boolean> => {
    for (let i = 0; i < 100; i++) {
      if (pattern.test(output)) return true;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return false;
  };
  try {
    t.true(await waitFor(/first line/));
    const later = line('appended later');
    appendFileSync(join(root, 'store-1', 'log.jsonl'), later.slice(0, 20));
    await new Promise((resolve) => setTimeout(resolve, 600));
    t.notRegex(output, /appended later/, 'half a line is not printed');
    appendFileSync(join(root, 'store-1', 'log.jsonl'), later.slice(20));
    t.true(await waitFor(/appended later/));
  } finally {
    child.kill('SIGTERM');
    rmSync(root, { recursive: true, force: true });
  }
});
