// The local cluster that `npm start` (`kplane up`) brings up. Every field has a default in
// src/cluster/config.ts; set only what you want to change. Invalid values are refused at start
// with a message naming the field.
//
// Addresses: every process listens on and advertises `host` (default 127.0.0.1); `store.host` and
// `apiServer.host` move a whole section, and `processes: { 'store-2': { listen: '0.0.0.0',
// advertise: '10.0.0.12' } }` one process. To spread the cluster over several machines, give every
// host the same config and start each one's share with `kplane up --only NAME[,NAME]`
// (docs/multi-host.md).
import { defineCluster } from './src/cluster/config.js';

export default defineCluster({
  store: { replicas: 3 },
  scheduler: { shards: 2 },
  // Each node also gets the label kplane.io/pool=<its process>; add labels and taints for all nodes here,
  // e.g. labels: { 'topology.kubernetes.io/zone': 'local' }, taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }].
  nodes: { simulatedProcesses: 1, nodesPerProcess: 3, processNodes: 1, labels: {}, taints: [] },
  logLevel: 'info',
});
