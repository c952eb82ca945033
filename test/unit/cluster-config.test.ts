// Cluster config: defaults are valid, overrides merge, and bad values are refused naming the field.
import test from 'ava';
import fc from 'fast-check';
import { ConfigError, DEFAULT_CLUSTER_CONFIG, defineCluster } from '../../src/cluster/config.js';
import projectConfig from '../../cluster.config.js';

test('the defaults and the project cluster.config.ts are valid', (t) => {
  t.is(defineCluster().store.replicas, DEFAULT_CLUSTER_CONFIG.store.replicas);
  t.is(projectConfig.store.replicas, 3);
  t.is(projectConfig.apiServer.port, 6443);
});

test('overrides merge over the defaults section by section', (t) => {
  const config = defineCluster({ store: { replicas: 5 }, nodes: { capacity: { cpu: '8' } } });
  t.is(config.store.replicas, 5);
  t.is(config.store.electionTicks, DEFAULT_CLUSTER_CONFIG.store.electionTicks);
  t.is(config.nodes.capacity.cpu, '8');
  t.is(config.nodes.capacity.memory, DEFAULT_CLUSTER_CONFIG.nodes.capacity.memory);
});

const refusals: Array<[string, () => unknown, string]> = [
  ['even replica count', () => defineCluster({ store: { replicas: 2 } }), 'store.replicas'],
  ['port out of range', () => defineCluster({ apiServer: { port: 70000 } }), 'apiServer.port'],
  ['election not above heartbeats', () => defineCluster({ store: { electionTicks: 2, heartbeatTicks: 1 } }), 'store.electionTicks'],
  ['bad name', () => defineCluster({ name: 'Not A Label' }), 'name'],
  ['negative weight', () => defineCluster({ scheduler: { profile: { plugins: {}, weights: { LeastAllocated: -1 } } } }), 'scheduler.profile.weights.LeastAllocated'],
  ['overlapping ports', () => defineCluster({ apiServer: { actorPort: DEFAULT_CLUSTER_CONFIG.store.basePort + 1 } }), 'apiServer.actorPort'],
];
for (const [title, build, field] of refusals) {
  test(`refuses ${title}, naming ${field}`, (t) => {
    const error = t.throws(build, { instanceOf: ConfigError });
    t.is(error?.field, field);
    t.true(error?.message.includes(field));
  });
}

test('any replica count other than 1, 3 or 5 is refused', (t) => {
  fc.assert(
    fc.property(fc.oneof(fc.integer(), fc.double()), (replicas) => {
      fc.pre(![1, 3, 5].includes(replicas));
      try {
        defineCluster({ store: { replicas } });
        return false;
      } catch (error) {
        return error instanceof ConfigError && error.field === 'store.replicas';
      }
    }),
  );
  t.pass();
});

test('node labels and taints come from the config, checked field by field', (t) => {
  const config = defineCluster({ nodes: { labels: { zone: 'a' }, taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] } });
  t.deepEqual(config.nodes.labels, { zone: 'a' });
  t.deepEqual(config.nodes.taints, [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }]);
  t.deepEqual(DEFAULT_CLUSTER_CONFIG.nodes.taints, []);
  const badLabel = t.throws(() => defineCluster({ nodes: { labels: { 'bad key!': 'x' } } }), { instanceOf: ConfigError });
  t.regex(badLabel.message, /nodes\.labels\.bad key!/);
  const badTaint = t.throws(() => defineCluster({ nodes: { taints: [{ key: 'k', effect: 'Sometimes' as 'NoSchedule' }] } }), { instanceOf: ConfigError });
  t.regex(badTaint.message, /nodes\.taints\[0\]\.effect/);
});
