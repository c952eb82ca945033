import * as k8s from '@kubernetes/client-node';
import { ChaosCluster } from '/work/main/dist/src/testing/chaos/chaos-cluster.js';
const cluster = await ChaosCluster.start({ config: { name: 'trace', nodes: { simulatedProcesses: 1, nodesPerProcess: 10, processNodes: 0 } } });
try {
  const kc = cluster.kubeConfig();
  const core = kc.makeApiClient(k8s.CoreV1Api), apps = kc.makeApiClient(k8s.AppsV1Api);
  for (;;) { const n = await core.listNode(); if (n.items.length === 10) break; await new Promise(r => setTimeout(r, 200)); }
  await new Promise(r => setTimeout(r, 2000));
  const t0 = performance.now();
  const N = 30;
  await Promise.all(Array.from({ length: N }, (_, i) => apps.createNamespacedDeployment({ namespace: 'default', body: { metadata: { name: `d${i}` }, spec: { replicas: 3, selector: { matchLabels: { app: `d${i}` } }, template: { metadata: { labels: { app: `d${i}` } }, spec: { containers: [{ name: 'a', image: 'x' }] } } } } })));
  const seen = {};
  const mark = (k) => { if (!(k in seen)) { seen[k] = (performance.now() - t0).toFixed(0); } };
  for (let iter = 0; iter < 200; iter++) {
    const [ds, rss, pods] = await Promise.all([apps.listNamespacedDeployment({ namespace: 'default' }), apps.listNamespacedReplicaSet({ namespace: 'default' }), core.listNamespacedPod({ namespace: 'default' })]);
    for (const d of ds.items) { const name = d.metadata.name; if ((d.status?.availableReplicas ?? 0) === 3 && d.status?.updatedReplicas === 3 && d.status?.observedGeneration >= d.metadata.generation) mark(`${name} dep-avail`); }
    for (const r of rss.items) { const name = r.metadata.name.split('-')[0]; mark(`${name} rs-created`); if (r.status?.readyReplicas === 3) mark(`${name} rs-ready`); if (r.status?.availableReplicas === 3) mark(`${name} rs-avail`); }
    for (const p of pods.items) { const name = p.metadata.name.split('-')[0]; if (p.spec?.nodeName) mark(`${name} pod-bound`); if (p.status?.conditions?.some(c => c.type === 'Ready' && c.status === 'True')) mark(`${name} pod-ready`); mark(`${name} pod-created`) }
    if (ds.items.filter(d => (d.status?.availableReplicas ?? 0) === 3).length === N) break;
    await new Promise(r => setTimeout(r, 50));
  }
  for (const i of [0, 1, 10, 20, 29]) console.log(`d${i}`, ['rs-created', 'pod-created', 'pod-bound', 'pod-ready', 'rs-ready', 'rs-avail', 'dep-avail'].map(k => `${k}=${seen[`d${i} ${k}`]}`).join(' '));
  console.log('total', (performance.now() - t0).toFixed(0));
} finally { await cluster.stop(); }
