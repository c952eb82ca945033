// The controller-manager process: the controller-manager supervisor actor (controllers/manager.ts),
// acting as system:kube-controller-manager over the actor transport. Several such processes may run;
// the Lease kube-system/kube-controller-manager picks the one that leads. Started by the launcher:
//
//   node dist/src/controllers/main.js --dir .kplane --name controller-manager-1 \
//     --api-server apiserver-1@127.0.0.1:7201 [--log-level info]
//
// Ready (IPC kplane.ready) once the API server answered and the manager actor has started (it then
// campaigns; leading is not needed to be ready). An orderly stop releases the Lease.

import { whenStarted } from '../actors/index.js';
import { connectToApi, runComponentProcess, waitForApi } from '../cluster/component.js';
import { ensureClusterPki } from '../cluster/pki.js';
import { CONTROLLER_MANAGER_SUPERVISION, controllerManager } from './manager.js';

const COMPONENT = 'controller-manager';
const MANAGER_ACTOR_NAME = 'controller-manager';

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  runComponentProcess(COMPONENT, {}, async ({ args, log, stopping }) => {
    const pki = ensureClusterPki(args.dir, { log });
    const connection = await connectToApi({ node: args.name, apiServer: args.apiServer, caCert: pki.caCert, certificate: pki.controllerManager, log });
    try {
      await waitForApi(connection, { log, cancelled: stopping });
      // The Lease holder's identity: the process name and this incarnation (a restart is a new holder).
      const identity = `${args.name}_${connection.transport.local.incarnation}`;
      connection.system.spawn(
        controllerManager({ transport: connection.api, identity, onLeadershipChange: (leading) => log.info({ identity, leading }, leading ? 'leading' : 'not leading') }),
        { name: MANAGER_ACTOR_NAME, supervision: CONTROLLER_MANAGER_SUPERVISION },
      );
      await whenStarted(connection.system, `/user/${MANAGER_ACTOR_NAME}`);
    } catch (error) {
      await connection.close();
      throw error;
    }
    log.info({ apiServer: args.apiServer }, 'controller manager started');
    return { stop: () => connection.close() };
  });
}
