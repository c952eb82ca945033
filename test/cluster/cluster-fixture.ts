// One whole cluster (ChaosCluster) shared by the tests of a file: started before them, stopped after
// them (also when they fail). `theCluster()` reaches it in tests; another before hook (ava runs before
// hooks concurrently) awaits `started()`.

import type { TestFn } from 'ava';
import { ChaosCluster, type ChaosClusterOptions } from '../../src/testing/chaos/chaos-cluster.js';

export interface FileCluster {
  (): ChaosCluster;
  started(): Promise<ChaosCluster>;
}

/** `beforeStop` runs first at the end (e.g. stopping watchers of the cluster before it goes). */
export function clusterForFile(test: TestFn, options: ChaosClusterOptions, beforeStop?: () => void | Promise<void>): FileCluster {
  let cluster: ChaosCluster | undefined;
  let starting: Promise<ChaosCluster> | undefined;
  const started = (): Promise<ChaosCluster> => {
    starting ??= ChaosCluster.start(options).then((running) => (cluster = running));
    return starting;
  };
  test.before(async () => {
    await started();
  });
  test.after.always(async () => {
    await beforeStop?.();
    await cluster?.stop();
  });
  const theCluster = (): ChaosCluster => {
    if (cluster === undefined) throw new Error('the cluster did not start');
    return cluster;
  };
  return Object.assign(theCluster, { started });
}
