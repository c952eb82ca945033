// The controller-manager process: the controller-manager supervisor actor (controllers/manager.ts),
// acting as system:kube-controller-manager over the actor transport. Several such processes may run;
// the Lease kube-system/kube-controller-manager picks the one that leads. Started by the launcher:
//
//   node dist/src/controllers/main.js --dir .kplane --name controller-manager-1 \
//     --api-server apiserver-1@127.0.0.1:7201 [--log-level info] \
//     [--lease-duration-ms 15000 --renew-deadline-ms 10000 --retry-period-ms 2000] \
//     [--node-grace-period-ms 40000 --default-toleration-ms 300000 --evictions-per-second 0.1]
//
// The optional settings are the config's controllerManager section (src/cluster/config.ts); an absent
// one keeps the manager's own default.
//
// Ready (IPC kplane.ready) once the API server answered and the manager actor has started (it then
// campaigns; leading is not needed to be ready). An orderly stop releases the Lease.

import { whenStarted } from '../actors/index.js';
import { ComponentArgsError, connectToApi, integerOption, runComponentProcess, waitForApi } from '../cluster/component.js';
import { ensureClusterPki } from '../cluster/pki.js';
import { CONTROLLER_MANAGER_SUPERVISION, controllerManager, type ControllerManagerOptions } from './manager.js';
import type { NodeLifecycleOptions } from './node-lifecycle.js';

const COMPONENT = 'controller-manager';
const MANAGER_ACTOR_NAME = 'controller-manager';

const SETTING_OPTIONS = {
  'lease-duration-ms': { type: 'string' },
  'renew-deadline-ms': { type: 'string' },
  'retry-period-ms': { type: 'string' },
  'node-grace-period-ms': { type: 'string' },
  'default-toleration-ms': { type: 'string' },
  'evictions-per-second': { type: 'string' },
} as const;

type Values = Record<string, string | boolean | undefined>;

/** An integer setting if it was given: `{ [key]: value }`, else nothing (the manager's default holds). */
function optionalInteger<K extends string>(values: Values, option: string, key: K, min: number): Partial<Record<K, number>> {
  if (values[option] === undefined) return {};
  return { [key]: integerOption(COMPONENT, values, option, min) } as Partial<Record<K, number>>;
}

/** The leader-election and node-lifecycle settings given on the command line. */
export function managerSettings(values: Values): { readonly leaderElection: NonNullable<Exclude<ControllerManagerOptions['leaderElection'], false>>; readonly nodeLifecycle: NodeLifecycleOptions } {
  const rate = values['evictions-per-second'];
  let evictions: NodeLifecycleOptions = {};
  if (rate !== undefined) {
    const value = typeof rate === 'string' ? Number(rate) : Number.NaN;
    if (!Number.isFinite(value) || value <= 0) throw new ComponentArgsError(COMPONENT, `--evictions-per-second must be a positive number, got ${JSON.stringify(rate)}`);
    evictions = { evictionsPerSecond: value };
  }
  return {
    leaderElection: {
      ...optionalInteger(values, 'lease-duration-ms', 'leaseDurationMs', 1),
      ...optionalInteger(values, 'renew-deadline-ms', 'renewDeadlineMs', 1),
      ...optionalInteger(values, 'retry-period-ms', 'retryPeriodMs', 1),
    },
    nodeLifecycle: {
      ...optionalInteger(values, 'node-grace-period-ms', 'gracePeriodMs', 1),
      ...optionalInteger(values, 'default-toleration-ms', 'defaultTolerationMs', 0),
      ...evictions,
    },
  };
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  runComponentProcess(COMPONENT, SETTING_OPTIONS, async ({ args, values, log, stopping }) => {
    const settings = managerSettings(values);
    const pki = ensureClusterPki(args.dir, { log });
    const connection = await connectToApi({ node: args.name, apiServer: args.apiServer, caCert: pki.caCert, certificate: pki.controllerManager, log });
    try {
      await waitForApi(connection, { log, cancelled: stopping });
      // The Lease holder's identity: the process name and this incarnation (a restart is a new holder).
      const identity = `${args.name}_${connection.transport.local.incarnation}`;
      connection.system.spawn(
        controllerManager({
          transport: connection.api,
          identity,
          leaderElection: settings.leaderElection,
          nodeLifecycle: settings.nodeLifecycle,
          onLeadershipChange: (leading) => log.info({ identity, leading }, leading ? 'leading' : 'not leading'),
        }),
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
