#!/usr/bin/env node
// The `kplane` command: `up`, `down`, `status`, `logs`, `chaos`, `export-credentials`, `join`, `leave`. It is the
// person-facing entry point of the local cluster: `npm start` runs `kplane up` in the foreground.
// `up --only NAME[,NAME]` starts one host's share of a cluster that spans several (docs/multi-host.md). `status` and `chaos` read the
// config the cluster was started with from the cluster directory (recorded by `up`).
// `join store-N` / `leave store-N` add a store replica to the running Raft group or remove one
// (src/cluster/store-membership.ts); a running launcher takes on or lets go of the process on SIGHUP.
import { parseArgs } from 'node:util';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { parse as parseYaml } from 'yaml';
import { pino, type Logger } from 'pino';
import { ClusterDir, DEFAULT_CLUSTER_DIR, isAlive } from '../cluster/cluster-dir.js';
import { ConfigError, defineCluster, type ClusterConfig, type ClusterConfigInput } from '../cluster/config.js';
import { Launcher } from '../cluster/launcher.js';
import { apiServerUrl, checkOnly, planCluster, UnknownProcessError } from '../cluster/plan.js';
import { ensureClusterPki, PKI_DIR, writeAdminKubeconfig } from '../cluster/pki.js';
import { ensureTokenFile, TOKEN_FILE } from '../api/auth/token-file.js';
import { probeCluster, readRecordedConfig, recordClusterConfig, type ClusterProbe, type ProcessProbe } from '../cluster/chaos-probe.js';
import { CHAOS_ACTIONS, ChaosError, LINK_ACTIONS, applyLinkFault, describeOutcome, injectProcessFault, isChaosAction, isLinkAction, linkFaultsFile } from '../cluster/chaos.js';
import { LINK_FAULTS_ENV, NO_LINK_FAULTS, writeLinkFaults } from '../cluster/chaos-links.js';
import { prettyLogLine } from './pretty-log.js';
import { describeMembership, joinStoreReplica, leaveStoreReplica, MembershipCommandError } from '../cluster/store-membership.js';

const USAGE = `usage: kplane <command> [options]
  up [--config F] [--dir D] [--detach] [--only NAME[,NAME]]
                                         start the cluster (foreground unless --detach);
                                         --only: just these processes or roles (this host's share)
  export-credentials OUT [--config F] [--dir D]
                                         copy pki/, tokens, cluster secret and kubeconfig to OUT
                                         (another host's cluster dir; docs/multi-host.md)
  join store-N [--config F] [--dir D]    start store replica N here and add it to the running store
                                         group (learner, then voter once caught up)
  leave store-N [--config F] [--dir D]   remove store replica N from the group and stop it
  down [--dir D]                         stop a running cluster
  status [--dir D] [--json]              show each process and its health
  logs COMPONENT [-f] [--dir D]          pretty-print a process's log (-f: keep following it)
  chaos kill|pause|resume|restart TARGET [--dir D]
                                         SIGKILL / SIGSTOP / SIGCONT / kill-and-wait-for-restart;
                                         TARGET: a process name, a role (store, apiserver,
                                         controller-manager, scheduler, node), store-leader
                                         or store-follower
  chaos partition A[,B] / C[,D] [--one-way] | heal | delay TARGET MS | drop TARGET PERCENT
                                         link faults, enforced in every process's transport`;

const projectRoot = dirname(dirname(dirname(dirname(fileURLToPath(import.meta.url)))));

/** Loads the config: the compiled cluster.config.ts by default, or a .js/.json/.yaml file. */
export async function loadConfig(file: string | undefined): Promise<ClusterConfig> {
  if (file === undefined) {
    const compiled = join(projectRoot, 'dist', 'cluster.config.js');
    const module = (await import(pathToFileURL(compiled).href)) as { default: ClusterConfig };
    return module.default;
  }
  const path = resolve(file);
  if (path.endsWith('.js') || path.endsWith('.mjs')) {
    const module = (await import(pathToFileURL(path).href)) as { default: ClusterConfigInput };
    return defineCluster(module.default);
  }
  if (path.endsWith('.ts')) {
    throw new Error(`${file}: a .ts config must be compiled first (the default cluster.config.ts is, by npm install); pass the .js, .json or .yaml form`);
  }
  const text = readFileSync(path, 'utf8');
  const input = (path.endsWith('.json') ? JSON.parse(text) : parseYaml(text)) as ClusterConfigInput;
  return defineCluster(input);
}

interface UpOptions {
  readonly config: string | undefined;
  readonly dir: string;
  readonly detach: boolean;
  /** `--only`: the process names or roles to start; undefined starts them all. */
  readonly only: readonly string[] | undefined;
}

/** `--only a,b --only c` → [a, b, c]; undefined when not given. */
export function parseOnly(values: readonly string[] | undefined): string[] | undefined {
  if (values === undefined || values.length === 0) return undefined;
  return values.flatMap((value) => value.split(',')).map((name) => name.trim()).filter((name) => name !== '');
}

async function up(options: UpOptions): Promise<number> {
  const config = await loadConfig(options.config);
  const dir = new ClusterDir(options.dir);
  // A bad --only is refused before anything is made.
  if (options.only !== undefined) checkOnly(config, options.only, dir.readMembers());
  const previous = dir.readState();
  if (previous !== undefined && isAlive(previous.launcherPid) && previous.launcherPid !== process.pid) {
    process.stderr.write(`a cluster is already running from ${dir.root} (launcher pid ${previous.launcherPid}); run kplane down first\n`);
    return 1;
  }
  dir.ensure();
  if (options.detach) return detach(options, dir);
  const log = pino({ base: { component: 'launcher' }, level: config.logLevel }, pino.destination({ dest: dir.logFile('launcher'), mkdir: true, sync: false }));
  dir.processDir('launcher');
  recordClusterConfig(dir, config);
  // Every process learns where the link-fault rules live (`kplane chaos partition`); a new start has none.
  writeLinkFaults(linkFaultsFile(dir), NO_LINK_FAULTS);
  process.env[LINK_FAULTS_ENV] = linkFaultsFile(dir);
  const credentials = prepareCredentials(config, dir, log);
  const plan = planCluster(config, dir, options.only);
  const launcher = new Launcher(dir, config.name, log);
  const say = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  say(`kplane: starting ${options.only === undefined ? 'cluster' : `part of cluster (${plan.processes.map((spec) => spec.name).join(', ')}) of`} "${config.name}" in ${dir.root}`);
  for (const line of plan.missing) say(`  not started (not built yet): ${line}`);
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    say('kplane: stopping (reverse order)…');
    await launcher.stop();
    log.info('cluster stopped');
    say('kplane: stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  // SIGHUP (from `kplane join` / `leave`): start the store replicas joined here, stop the removed ones.
  let reconciling: Promise<void> = Promise.resolve();
  process.on('SIGHUP', () => {
    reconciling = reconciling.then(async () => {
      if (stopping) return;
      const wanted = planCluster(config, dir, options.only).processes.filter((spec) => spec.role === 'store');
      for (const name of launcher.names()) {
        if (name.startsWith('store-') && !wanted.some((spec) => spec.name === name)) {
          say(`kplane: stopping ${name} (removed from the store group)`);
          await launcher.retire(name);
        }
      }
      for (const spec of wanted) {
        if (launcher.names().includes(spec.name)) continue;
        say(`kplane: starting ${spec.name} (joining the store group)`);
        await launcher.add(spec).catch((error: unknown) => log.error({ process: spec.name, err: error }, 'joined replica did not start'));
      }
    });
  });
  try {
    await launcher.start(plan.processes, say);
  } catch (error) {
    say(`kplane: start failed: ${(error as Error).message}`);
    launcher.markFailed((error as Error).message);
    await launcher.stop();
    return 1;
  }
  log.info({ processes: plan.processes.length }, 'cluster ready');
  say(`kplane: ${plan.processes.length} processes running; state in ${join(dir.root, 'state.json')}`);
  if (plan.processes.some((spec) => spec.role === 'store') && !plan.processes.some((spec) => spec.role === 'apiserver')) {
    say('kplane: store replicas running; start the API servers (kplane up --only apiserver) once a quorum of replicas is up');
  }
  say(`kplane: API server at ${apiServerUrl(config)}; try: kubectl --kubeconfig ${credentials.kubeconfig} get namespaces`);
  say('kplane: press Ctrl-C to stop');
  // Stay alive as the supervisor until a signal arrives.
  await new Promise<never>(() => setInterval(() => undefined, 1 << 30));
  return 0;
}

/**
 * The cluster's credentials, made at first start and reused after: the CA and certificates (pki/),
 * the token file, and the admin kubeconfig (`<dir>/kubeconfig`, a client certificate in system:masters).
 */
function prepareCredentials(config: ClusterConfig, dir: ClusterDir, log: Logger): { readonly kubeconfig: string } {
  const pki = ensureClusterPki(dir.root, { log, extraHosts: [config.apiServer.host] });
  ensureTokenFile(dir.root);
  const kubeconfig = join(dir.root, 'kubeconfig');
  writeAdminKubeconfig(kubeconfig, { server: apiServerUrl(config), ca: pki.caCert, cert: pki.admin.cert, key: pki.admin.key, clusterName: config.name });
  return { kubeconfig };
}

export const DETACH_TIMEOUT_MS = 60_000;

/** Runs the launcher in the background and returns once the cluster is ready, or fails after 60 s. */
async function detach(options: UpOptions, dir: ClusterDir): Promise<number> {
  const args = [
    fileURLToPath(import.meta.url), 'up', '--dir', dir.root,
    ...(options.config === undefined ? [] : ['--config', resolve(options.config)]),
    ...(options.only === undefined ? [] : ['--only', options.only.join(',')]),
  ];
  const output = openSync(join(dir.processDir('launcher'), 'console.log'), 'a');
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', output, output] });
  child.unref();
  const pid = child.pid;
  process.stdout.write(`kplane: launcher started in the background (pid ${pid ?? '?'}); waiting for the cluster…\n`);
  const deadline = Date.now() + DETACH_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const state = dir.readState();
    if (state !== undefined && state.launcherPid === pid) {
      if (state.ready) {
        process.stdout.write(`kplane: cluster ready (${state.processes.length} processes); kplane status --dir ${dir.root}\n`);
        return 0;
      }
      if (state.failure !== undefined) {
        process.stderr.write(`kplane: start failed: ${state.failure}\n`);
        return 1;
      }
    }
    if (!isAlive(pid)) {
      process.stderr.write(`kplane: the launcher exited before the cluster was ready; see ${join(dir.root, 'launcher', 'console.log')}\n`);
      return 1;
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 200));
  }
  process.stderr.write(`kplane: the cluster was not ready within ${DETACH_TIMEOUT_MS / 1000} s; stopping it\n`);
  if (pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGTERM');
  return 1;
}

/** The config of a cluster dir: the one `up` recorded there, else --config, else the default. */
async function clusterConfigOf(dir: ClusterDir, file: string | undefined): Promise<ClusterConfig> {
  if (file !== undefined) return loadConfig(file);
  return readRecordedConfig(dir) ?? loadConfig(undefined);
}

function replicaColumn(entry: ProcessProbe): string {
  const replica = entry.replica;
  if (replica === undefined) return '';
  if (!replica.reachable) return `raft: no answer (${replica.error})`;
  return `raft: ${replica.role} term ${replica.term} commit ${replica.commitIndex} applied ${replica.appliedIndex} leader ${replica.leader}`;
}

function apiColumn(entry: ProcessProbe): string {
  if (entry.api === undefined) return '';
  return entry.api.ready ? `ready (${entry.api.url})` : `not ready (${entry.api.detail})`;
}

function printStatus(probe: ClusterProbe): void {
  process.stdout.write(`cluster ${probe.configName} in ${probe.dir}: launcher ${probe.launcherAlive ? `running (pid ${probe.launcherPid})` : 'not running'}\n`);
  const nameWidth = Math.max(0, ...probe.processes.map((entry) => entry.name.length));
  const roleWidth = Math.max(0, ...probe.processes.map((entry) => entry.role.length));
  for (const entry of probe.processes) {
    const health = [replicaColumn(entry), apiColumn(entry)].filter((part) => part !== '').join(' ');
    process.stdout.write(`  ${entry.name.padEnd(nameWidth)}  ${entry.role.padEnd(roleWidth)}  pid ${String(entry.pid ?? '-').padEnd(8)} ${(entry.alive ? entry.status : 'dead').padEnd(10)} restarts ${String(entry.restarts).padEnd(3)} ${health}\n`);
  }
  if (probe.storeMembership !== undefined) {
    process.stdout.write(`  store members: ${describeMembership(probe.storeMembership)} (leader ${probe.storeMembership.leader})\n`);
  }
  if (probe.objects !== undefined) {
    const phases = Object.entries(probe.objects.podsByPhase).map(([phase, count]) => `${count} ${phase}`).join(', ');
    process.stdout.write(`  nodes: ${probe.objects.nodes.ready}/${probe.objects.nodes.total} ready; pods: ${phases === '' ? 'none' : phases}\n`);
  }
}

async function status(options: { dir: string; json: boolean; config: string | undefined }): Promise<number> {
  const dir = new ClusterDir(options.dir);
  const config = dir.readState() === undefined ? undefined : await clusterConfigOf(dir, options.config);
  const probe = await probeCluster(dir, config);
  if (probe === undefined) {
    process.stdout.write(options.json ? '{"running":false}\n' : `no cluster in ${dir.root}\n`);
    return 1;
  }
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ running: probe.launcherAlive, ...probe })}\n`);
    return 0;
  }
  printStatus(probe);
  return 0;
}

async function chaos(action: string | undefined, args: readonly string[], options: { dir: string; config: string | undefined; oneWay: boolean }): Promise<number> {
  const target = args[0];
  const linkAction = action !== undefined && isLinkAction(action) ? action : undefined;
  const processAction = action !== undefined && isChaosAction(action) && target !== undefined ? action : undefined;
  if (linkAction === undefined && processAction === undefined) {
    process.stderr.write(`usage: kplane chaos ${CHAOS_ACTIONS.join('|')} TARGET, or ${LINK_ACTIONS.join('|')} … [--dir D]\n`);
    return 2;
  }
  const dir = new ClusterDir(options.dir);
  const config = await clusterConfigOf(dir, options.config);
  try {
    if (linkAction !== undefined) {
      process.stdout.write(`${await applyLinkFault(dir, config, linkAction, args, options.oneWay)}\n`);
    } else if (processAction !== undefined && target !== undefined) {
      const outcome = await injectProcessFault(dir, config, processAction, target);
      for (const line of describeOutcome(outcome)) process.stdout.write(`${line}\n`);
    }
    return 0;
  } catch (error) {
    if (error instanceof ChaosError) {
      process.stderr.write(`kplane chaos: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

/** What another host needs to join this cluster: the same CA, tokens and cluster secret (and the kubeconfig). */
export const CREDENTIAL_FILES = [PKI_DIR, TOKEN_FILE, 'cluster-secret', 'kubeconfig'] as const;

/**
 * `kplane export-credentials OUT`: makes the credentials if this dir has none yet (as `up` does), then
 * copies them into OUT, the cluster dir of another host (or a folder to carry there). It refuses an OUT
 * that already holds another cluster's secret, so two clusters' credentials are never mixed.
 */
async function exportCredentials(out: string | undefined, options: { config: string | undefined; dir: string }): Promise<number> {
  if (out === undefined) {
    process.stderr.write('usage: kplane export-credentials OUT [--config F] [--dir D]\n');
    return 2;
  }
  const config = await loadConfig(options.config);
  const dir = new ClusterDir(options.dir);
  dir.ensure();
  const log = pino({ level: 'warn' }, pino.destination(2));
  prepareCredentials(config, dir, log);
  const target = new ClusterDir(out);
  const targetSecret = join(target.root, 'cluster-secret');
  if (existsSync(targetSecret) && readFileSync(targetSecret, 'utf8').trim() !== dir.secret()) {
    process.stderr.write(`${target.root} already holds another cluster's secret; not overwriting it\n`);
    return 1;
  }
  mkdirSync(target.root, { recursive: true, mode: 0o700 });
  for (const file of CREDENTIAL_FILES) cpSync(join(dir.root, file), join(target.root, file), { recursive: true });
  process.stdout.write(`kplane: credentials of "${config.name}" copied to ${target.root} (${CREDENTIAL_FILES.join(', ')}); keep them private\n`);
  return 0;
}

/** How long join/leave wait for the launcher to start or stop a replica. */
export const SYNC_PROCESSES_TIMEOUT_MS = 60_000;

/**
 * Makes this directory's launcher run what StoreMembers says: SIGHUP to a running launcher (which
 * starts joined replicas and stops removed ones), or a new launcher in the background for the joined
 * replicas when none runs. Resolves once the state file shows it done.
 */
async function syncStoreProcesses(dir: ClusterDir, config: string | undefined): Promise<void> {
  const members = dir.readMembers();
  const joined = members.joined.map((id) => `store-${id}`);
  const removed = members.removed.map((id) => `store-${id}`);
  const state = dir.readState();
  if (state === undefined || !isAlive(state.launcherPid)) {
    if (joined.length === 0) return;
    const code = await up({ config, dir: dir.root, detach: true, only: joined });
    if (code !== 0) throw new MembershipCommandError(`could not start ${joined.join(', ')} here`);
    return;
  }
  process.kill(state.launcherPid, 'SIGHUP');
  const deadline = Date.now() + SYNC_PROCESSES_TIMEOUT_MS;
  for (;;) {
    const now = dir.readState()?.processes ?? [];
    const running = joined.every((name) => now.some((entry) => entry.name === name && entry.status === 'running'));
    const gone = removed.every((name) => !now.some((entry) => entry.name === name));
    if (running && gone) return;
    if (Date.now() > deadline) throw new MembershipCommandError(`the launcher (pid ${state.launcherPid}) did not start/stop the store replicas within ${SYNC_PROCESSES_TIMEOUT_MS / 1000} s; see ${dir.logFile('launcher')}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 200));
  }
}

async function membershipCommand(command: 'join' | 'leave', name: string | undefined, options: { dir: string; config: string | undefined }): Promise<number> {
  const dir = new ClusterDir(options.dir);
  const config = await clusterConfigOf(dir, options.config);
  const say = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  try {
    const commandOptions = { dir, config, say, syncProcesses: () => syncStoreProcesses(dir, options.config) };
    await (command === 'join' ? joinStoreReplica(name, commandOptions) : leaveStoreReplica(name, commandOptions));
    return 0;
  } catch (error) {
    if (error instanceof MembershipCommandError) {
      process.stderr.write(`kplane ${command}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

export const DOWN_TIMEOUT_MS = 30_000;

async function down(options: { dir: string }): Promise<number> {
  const dir = new ClusterDir(options.dir);
  const state = dir.readState();
  if (state === undefined) {
    process.stdout.write(`no running cluster in ${dir.root}\n`);
    return 0;
  }
  if (isAlive(state.launcherPid)) {
    process.kill(state.launcherPid, 'SIGTERM');
    for (let waitedMs = 0; waitedMs < DOWN_TIMEOUT_MS && isAlive(state.launcherPid); waitedMs += 100) {
      await new Promise((resolveWait) => setTimeout(resolveWait, 100));
    }
    if (isAlive(state.launcherPid)) {
      process.stdout.write(`launcher did not stop within ${DOWN_TIMEOUT_MS / 1000} s\n`);
      return 1;
    }
  }
  // No orphans: a process the launcher could not stop (or one left by a launcher that was killed) is
  // killed here. The latest state file is read again (restarts change pids); a process it marks
  // stopped is gone, and its pid may since belong to someone else.
  const orphans = (dir.readState() ?? state).processes.filter((entry) => entry.status !== 'stopped' && isAlive(entry.pid));
  for (const entry of orphans) {
    process.stdout.write(`killing orphan ${entry.name} (pid ${entry.pid})\n`);
    process.kill(entry.pid as number, 'SIGKILL');
  }
  process.stdout.write('cluster stopped\n');
  return 0;
}

/** How often `logs -f` looks for new lines. */
export const LOG_FOLLOW_POLL_MS = 250;

async function logs(component: string | undefined, options: { dir: string; follow: boolean }): Promise<number> {
  if (component === undefined) {
    process.stderr.write('usage: kplane logs COMPONENT [-f]\n');
    return 2;
  }
  const file = new ClusterDir(options.dir).logFile(component);
  if (!existsSync(file)) {
    process.stderr.write(`no log for ${component} at ${file}\n`);
    return 1;
  }
  let offset = 0;
  let partial = '';
  // Prints the whole lines appended since the last read; a line still being written waits for its end.
  const printNew = (): void => {
    const size = statSync(file).size;
    if (size < offset) offset = 0; // the file was replaced: start over
    if (size === offset) return;
    const descriptor = openSync(file, 'r');
    try {
      const chunk = Buffer.alloc(size - offset);
      readSync(descriptor, chunk, 0, chunk.length, offset);
      offset = size;
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') process.stdout.write(`${prettyLogLine(line)}\n`);
    } finally {
      closeSync(descriptor);
    }
  };
  printNew();
  if (!options.follow) {
    if (partial.trim() !== '') process.stdout.write(`${prettyLogLine(partial)}\n`);
    return 0;
  }
  // -f: keep printing what the process appends until Ctrl-C.
  await new Promise<never>(() => setInterval(printNew, LOG_FOLLOW_POLL_MS));
  return 0;
}

export async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        dir: { type: 'string', default: DEFAULT_CLUSTER_DIR },
        detach: { type: 'boolean', default: false },
        only: { type: 'string', multiple: true },
        json: { type: 'boolean', default: false },
        'one-way': { type: 'boolean', default: false },
        follow: { type: 'boolean', short: 'f', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  const dir = values.dir ?? DEFAULT_CLUSTER_DIR;
  if (values.help || command === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined && !values.help ? 2 : 0;
  }
  try {
    switch (command) {
      case 'up':
        return await up({ config: values.config, dir, detach: values.detach ?? false, only: parseOnly(values.only) });
      case 'export-credentials':
        return await exportCredentials(rest[0], { config: values.config, dir });
      case 'join':
      case 'leave':
        return await membershipCommand(command, rest[0], { dir, config: values.config });
      case 'down':
        return await down({ dir });
      case 'status':
        return await status({ dir, json: values.json ?? false, config: values.config });
      case 'logs':
        return await logs(rest[0], { dir, follow: values.follow ?? false });
      case 'chaos':
        return await chaos(rest[0], rest.slice(1), { dir, config: values.config, oneWay: values['one-way'] ?? false });
      default:
        process.stderr.write(`unknown command ${JSON.stringify(command)}\n${USAGE}\n`);
        return 2;
    }
  } catch (error) {
    if (error instanceof ConfigError || error instanceof UnknownProcessError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`kplane: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
