// How a simulated container's command line decides its run: sleeps add up, exit codes, true/false,
// no command, and restartPolicy Always meaning "runs until deleted".

import test from 'ava';
import { containerRun, simulatedRunOf } from '../../src/node-agent/simulated-program.js';

test('sleep, exit, true and false in commands and shell scripts', (t) => {
  t.deepEqual(containerRun({ command: ['sleep', '3'] }), { runMs: 3_000, exitCode: 0 });
  t.deepEqual(containerRun({ command: ['sh', '-c'], args: ['sleep 1.5; exit 4'] }), { runMs: 1_500, exitCode: 4 });
  t.deepEqual(containerRun({ command: ['sh', '-c', 'sleep 2 && sleep 3s'] }), { runMs: 5_000, exitCode: 0 });
  t.deepEqual(containerRun({ command: ['false'] }), { runMs: 0, exitCode: 1 });
  t.deepEqual(containerRun({ command: ['true'] }), { runMs: 0, exitCode: 0 });
  t.deepEqual(containerRun({}), { runMs: 0, exitCode: 0 }, 'no command: the image default ends at once');
  t.deepEqual(containerRun({ command: ['perl', '-Mbignum=bpi', '-wle', 'print bpi(2000)'] }), { runMs: 0, exitCode: 0 });
});

test('a pod ends when its longest container does, with the first non-zero exit; Always never ends', (t) => {
  const containers = [{ command: ['sleep', '1'] }, { command: ['sh', '-c', 'sleep 2; exit 1'] }];
  t.deepEqual(simulatedRunOf({ restartPolicy: 'Never', containers }), { runMs: 2_000, exitCode: 1 });
  t.deepEqual(simulatedRunOf({ restartPolicy: 'OnFailure', containers: [{ command: ['true'] }] }), { runMs: 0, exitCode: 0 });
  t.is(simulatedRunOf({ restartPolicy: 'Always', containers }), undefined);
  t.is(simulatedRunOf({ containers }), undefined);
});
