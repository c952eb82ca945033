// The cluster directory (default `.kplane/`): the cluster secret, one folder per process (data and
// log), and the state file with pids and ports that `kplane status` and `kplane down` read.
// Made on first start; later starts reuse what is there, so nothing persisted is lost.
// `store-members.json` records the store membership changes made from this directory (`kplane join`
// and `leave`, docs/decisions/0009-store-membership.md): replicas joined here, which this directory's
// launcher runs, and replicas removed from the group, which no launcher of this directory starts again.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const DEFAULT_CLUSTER_DIR = '.kplane';
const SECRET_FILE = 'cluster-secret';
const STATE_FILE = 'state.json';
const MEMBERS_FILE = 'store-members.json';

/** Store replicas beyond the config's: joined from this directory, and removed from the group. */
export interface StoreMembers {
  /** Replica ids joined from this directory (its launcher runs them), ascending. */
  readonly joined: readonly number[];
  /** Replica ids removed from the group: not started again. */
  readonly removed: readonly number[];
}

export const NO_STORE_MEMBERS: StoreMembers = { joined: [], removed: [] };

export interface ProcessState {
  readonly name: string;
  readonly role: string;
  readonly pid: number | undefined;
  readonly ports: Readonly<Record<string, number>>;
  readonly restarts: number;
  readonly status: 'starting' | 'running' | 'restarting' | 'stopped' | 'failed';
}

export interface ClusterState {
  readonly launcherPid: number;
  readonly startedAtMs: number;
  readonly configName: string;
  /** True once every process has said it is ready; `kplane up --detach` waits for it. */
  readonly ready: boolean;
  /** Why the start failed, when it did. */
  readonly failure?: string;
  readonly processes: readonly ProcessState[];
}

export class ClusterDir {
  readonly root: string;

  constructor(root: string = DEFAULT_CLUSTER_DIR) {
    this.root = resolve(root);
  }

  /** Creates the directory and the cluster secret if they do not exist yet. */
  ensure(): void {
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    const secretPath = join(this.root, SECRET_FILE);
    if (!existsSync(secretPath)) writeFileSync(secretPath, randomBytes(32).toString('hex'), { mode: 0o600 });
  }

  /** The shared secret every process proves on the actor transport. */
  secret(): string {
    return readFileSync(join(this.root, SECRET_FILE), 'utf8').trim();
  }

  processDir(name: string): string {
    const dir = join(this.root, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  logFile(name: string): string {
    return join(this.root, name, 'log.jsonl');
  }

  writeState(state: ClusterState): void {
    const path = join(this.root, STATE_FILE);
    const temporary = `${path}.tmp`;
    writeFileSync(temporary, JSON.stringify(state, null, 2));
    renameSync(temporary, path);
  }

  readMembers(): StoreMembers {
    try {
      const parsed = JSON.parse(readFileSync(join(this.root, MEMBERS_FILE), 'utf8')) as Partial<StoreMembers>;
      const ids = (value: unknown): number[] => (Array.isArray(value) ? value.filter((id): id is number => Number.isSafeInteger(id) && (id as number) > 0) : []);
      return { joined: ids(parsed.joined).sort((a, b) => a - b), removed: ids(parsed.removed).sort((a, b) => a - b) };
    } catch {
      return NO_STORE_MEMBERS;
    }
  }

  writeMembers(members: StoreMembers): void {
    const path = join(this.root, MEMBERS_FILE);
    writeFileSync(`${path}.tmp`, JSON.stringify(members, null, 2));
    renameSync(`${path}.tmp`, path);
  }

  readState(): ClusterState | undefined {
    try {
      return JSON.parse(readFileSync(join(this.root, STATE_FILE), 'utf8')) as ClusterState;
    } catch {
      return undefined;
    }
  }
}

/** True when a process with this pid exists (signal 0 checks without touching it). */
export function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
