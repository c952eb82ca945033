// Child process for wal-crash.test.ts (not a test itself): opens the WAL in argv[2] with crash points
// from KPLANE_CRASH_POINT, appends one entry at a time, and prints "acked <index>" after each append
// resolves. The armed crash point kills it with SIGKILL part-way.
import { pino } from 'pino';
import { crashPointsFromEnv } from '../../src/raft/crash-points.js';
import { Wal } from '../../src/raft/wal.js';

const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: wal-crash-child <dir>');
const { wal, recovered } = await Wal.open(dir, { log: pino({ level: 'silent' }), crashPoints: crashPointsFromEnv(), maxSegmentBytes: 1024 });
let index = (recovered.entries[recovered.entries.length - 1]?.index ?? 0) + 1;
for (let round = 0; round < 200; round++, index++) {
  await wal.append([{ index, term: 1, type: 0, data: new TextEncoder().encode(`value-${index}`) }], { term: 1, vote: 1, commit: index });
  process.stdout.write(`acked ${index}\n`);
}
await wal.close();
