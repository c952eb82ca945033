// The scheduler process: every shard of the config as an actor under one supervisor
// (scheduler/actor.ts), acting as system:kube-scheduler over the actor transport. Started by the
// launcher (or by hand):
//
//   node dist/src/scheduler/main.js --dir .kplane --name scheduler \
//     --api-server apiserver-1@127.0.0.1:7201 [--shards 2] [--profile '{"plugins":{…},"weights":{…}}'] \
//     [--log-level info]
//
// The shards share this process's one API connection (one identity); each runs its own informers.
// Ready (IPC kplane.ready) once the API server answered and the shards' supervisor has started.

import { whenStarted } from '../actors/index.js';
import { connectToApi, ComponentArgsError, integerOption, runComponentProcess, waitForApi } from '../cluster/component.js';
import { ensureClusterPki } from '../cluster/pki.js';
import { schedulerSupervisor } from './actor.js';
import { buildProfile, type ProfileConfig } from './plugins/index.js';

const COMPONENT = 'scheduler';
const SUPERVISOR_NAME = 'scheduler';

/** The --profile argument: the config's scheduler.profile as JSON (plugins on/off, weights). */
export function parseProfileArgument(text: string | undefined): ProfileConfig {
  if (text === undefined || text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ComponentArgsError(COMPONENT, `--profile is not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ComponentArgsError(COMPONENT, '--profile must be a JSON object');
  const { plugins, weights } = parsed as { plugins?: unknown; weights?: unknown };
  const isRecordOf = (value: unknown, type: 'boolean' | 'number'): value is Record<string, never> =>
    typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((entry) => typeof entry === type);
  if (plugins !== undefined && !isRecordOf(plugins, 'boolean')) throw new ComponentArgsError(COMPONENT, '--profile plugins must map plugin names to true or false');
  if (weights !== undefined && !isRecordOf(weights, 'number')) throw new ComponentArgsError(COMPONENT, '--profile weights must map plugin names to numbers');
  const profile: ProfileConfig = {
    ...(plugins === undefined ? {} : { plugins: plugins as Record<string, boolean> }),
    ...(weights === undefined ? {} : { weights: weights as Record<string, number> }),
  };
  try {
    buildProfile(profile); // unknown plugin names are refused here, not in every shard later
  } catch (error) {
    throw new ComponentArgsError(COMPONENT, error instanceof Error ? error.message : String(error));
  }
  return profile;
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  runComponentProcess(COMPONENT, { shards: { type: 'string', default: '1' }, profile: { type: 'string' } }, async ({ args, values, log, stopping }) => {
    const shards = integerOption(COMPONENT, values, 'shards', 1);
    const profileValue = values['profile'];
    const profile = parseProfileArgument(typeof profileValue === 'string' ? profileValue : undefined);
    const pki = ensureClusterPki(args.dir, { log });
    const connection = await connectToApi({ node: args.name, apiServer: args.apiServer, caCert: pki.caCert, certificate: pki.scheduler, log });
    try {
      await waitForApi(connection, { log, cancelled: stopping });
      connection.system.spawn(schedulerSupervisor({ shards, profile, clientFor: () => connection.client }), { name: SUPERVISOR_NAME });
      await whenStarted(connection.system, `/user/${SUPERVISOR_NAME}`);
    } catch (error) {
      await connection.close();
      throw error;
    }
    log.info({ shards, apiServer: args.apiServer }, 'scheduler shards started');
    return { stop: () => connection.close() };
  });
}
