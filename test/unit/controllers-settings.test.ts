// The controller manager's settings from the cluster config: validation of the controllerManager
// section, the arguments the plan gives each manager process, and how the process reads them back.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterDir } from '../../src/cluster/cluster-dir.js';
import { ConfigError, defineCluster } from '../../src/cluster/config.js';
import { planCluster } from '../../src/cluster/plan.js';
import { managerSettings } from '../../src/controllers/main.js';

test('the controllerManager section: defaults as the manager had them, and unsafe leader-election timings refused by name', (t) => {
  const defaults = defineCluster().controllerManager;
  t.deepEqual(defaults, { count: 1, leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, nodeGracePeriodMs: 40_000, defaultTolerationMs: 300_000, evictionsPerSecond: 0.1 });
  t.is(defineCluster({ controllerManager: { count: 2, leaseDurationMs: 6_000, renewDeadlineMs: 4_000, retryPeriodMs: 1_000 } }).controllerManager.leaseDurationMs, 6_000);
  const refused = (input: Parameters<typeof defineCluster>[0]): string | undefined => t.throws(() => defineCluster(input), { instanceOf: ConfigError })?.field;
  t.is(refused({ controllerManager: { renewDeadlineMs: 15_000 } }), 'controllerManager.leaseDurationMs');
  t.is(refused({ controllerManager: { retryPeriodMs: 10_000 } }), 'controllerManager.renewDeadlineMs');
  t.is(refused({ controllerManager: { nodeGracePeriodMs: 0 } }), 'controllerManager.nodeGracePeriodMs');
  t.is(refused({ controllerManager: { evictionsPerSecond: 0 } }), 'controllerManager.evictionsPerSecond');
});

test('each controller-manager process gets the settings as arguments, and reads them back', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'kplane-settings-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const dir = new ClusterDir(root);
  dir.ensure();
  const config = defineCluster({ controllerManager: { count: 2, leaseDurationMs: 6_000, renewDeadlineMs: 4_000, retryPeriodMs: 1_000, nodeGracePeriodMs: 14_000, defaultTolerationMs: 0, evictionsPerSecond: 2.5 } });
  const managers = planCluster(config, dir).processes.filter((spec) => spec.role === 'controller-manager');
  t.is(managers.length, 2);
  for (const spec of managers) {
    const values: Record<string, string> = {};
    for (let index = 0; index < spec.args.length - 1; index++) {
      const option = spec.args[index] ?? '';
      if (option.startsWith('--')) values[option.slice(2)] = spec.args[index + 1] ?? '';
    }
    t.deepEqual(managerSettings(values), {
      leaderElection: { leaseDurationMs: 6_000, renewDeadlineMs: 4_000, retryPeriodMs: 1_000 },
      nodeLifecycle: { gracePeriodMs: 14_000, defaultTolerationMs: 0, evictionsPerSecond: 2.5 },
    });
  }
  t.deepEqual(managerSettings({}), { leaderElection: {}, nodeLifecycle: {} }, 'absent settings keep the manager defaults');
  t.throws(() => managerSettings({ 'evictions-per-second': '-1' }), { message: /--evictions-per-second/ });
  t.throws(() => managerSettings({ 'lease-duration-ms': 'soon' }), { message: /--lease-duration-ms/ });
});
