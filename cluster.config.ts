// The local cluster that `npm start` (`kplane up`) brings up. Every field has a default in
// src/cluster/config.ts; set only what you want to change. Invalid values are refused at start
// with a message naming the field.
import { defineCluster } from './src/cluster/config.js';

export default defineCluster({
  store: { replicas: 3 },
  scheduler: { shards: 2 },
  nodes: { simulatedProcesses: 1, nodesPerProcess: 3, processNodes: 1 },
  logLevel: 'info',
});
