// The yardstick side of `npm run bench:store`: a real 3-member etcd cluster (Debian's etcd-server,
// 3.4) on loopback with its defaults (heartbeat 100 ms, election 1000 ms, fsync on), driven through its
// v3 JSON gateway with keep-alive HTTP, as ../shared/anchors/etcd/ measured it. If etcd is not
// installed, `ensureEtcdInstalled` tries `apt-get install -y etcd-server` (a benchmark may; a test
// never does) and otherwise the benchmark reports kplane's figures alone.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { sleep } from './store-load.js';

const ETCD_BINARY = '/usr/bin/etcd';
const HEALTH_TIMEOUT_MS = 30_000;

export function ensureEtcdInstalled(progress: (line: string) => void): boolean {
  if (existsSync(ETCD_BINARY)) return true;
  progress('etcd is not installed; trying apt-get install -y etcd-server etcd-client');
  const result = spawnSync('apt-get', ['install', '-y', 'etcd-server', 'etcd-client'], { stdio: 'ignore', timeout: 300_000 });
  if (result.status !== 0) progress('could not install etcd; the etcd side is skipped');
  return existsSync(ETCD_BINARY);
}

interface Member {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  process: ChildProcess | undefined;
  readonly agent: http.Agent;
}

export class EtcdCluster {
  private readonly members: Member[];

  constructor(
    private readonly dir: string,
    basePort: number,
  ) {
    this.members = [0, 1, 2].map((i) => ({
      name: `m${i + 1}`,
      clientPort: basePort + i,
      peerPort: basePort + 10 + i,
      process: undefined,
      agent: new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY }),
    }));
  }

  get size(): number {
    return this.members.length;
  }

  async start(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
    await mkdir(this.dir, { recursive: true });
    for (let i = 0; i < this.members.length; i++) this.startMember(i);
    await this.waitHealthy();
  }

  private startMember(index: number): void {
    const member = this.member(index);
    const cluster = this.members.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(',');
    const env: NodeJS.ProcessEnv = {};
    for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('ETCD_')) env[name] = value;
    member.process = spawn(
      ETCD_BINARY,
      [
        '--name', member.name,
        '--data-dir', join(this.dir, member.name),
        '--listen-client-urls', `http://127.0.0.1:${member.clientPort}`,
        '--advertise-client-urls', `http://127.0.0.1:${member.clientPort}`,
        '--listen-peer-urls', `http://127.0.0.1:${member.peerPort}`,
        '--initial-advertise-peer-urls', `http://127.0.0.1:${member.peerPort}`,
        '--initial-cluster', cluster,
        '--initial-cluster-token', 'kplane-bench',
        '--initial-cluster-state', 'new',
        '--heartbeat-interval', '100',
        '--election-timeout', '1000',
        '--logger', 'zap',
        '--log-outputs', join(this.dir, `${member.name}.log`),
      ],
      { stdio: 'ignore', env },
    );
  }

  private member(index: number): Member {
    const member = this.members[index];
    if (member === undefined) throw new Error(`no etcd member ${index}`);
    return member;
  }

  async waitHealthy(): Promise<void> {
    const deadline = Date.now() + HEALTH_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if ((await this.leader().catch(() => -1)) >= 0) return;
      await sleep(200);
    }
    throw new Error('etcd cluster did not elect a leader in time');
  }

  /** The index of the current leader (-1 if none answers). */
  async leader(): Promise<number> {
    for (let i = 0; i < this.members.length; i++) {
      if (this.member(i).process === undefined) continue;
      try {
        const status = (await this.post(i, '/maintenance/status', {}, 1_000)) as { leader?: string; header?: { member_id?: string } };
        if (status.leader !== undefined && status.leader !== '0' && status.leader === status.header?.member_id) return i;
      } catch {
        // not answering: try the next one
      }
    }
    return -1;
  }

  put(member: number, key: string, value: Uint8Array, timeoutMs: number): Promise<unknown> {
    return this.post(member, '/kv/put', { key: Buffer.from(key).toString('base64'), value: Buffer.from(value).toString('base64') }, timeoutMs);
  }

  /** A linearizable read (etcd's default for range). */
  get(member: number, key: string, timeoutMs: number): Promise<unknown> {
    return this.post(member, '/kv/range', { key: Buffer.from(key).toString('base64') }, timeoutMs);
  }

  kill9(index: number): void {
    const member = this.member(index);
    member.process?.kill('SIGKILL');
    member.process = undefined;
  }

  async restart(index: number): Promise<void> {
    const member = this.member(index);
    // Rejoin on the existing data dir: etcd ignores the initial-cluster flags when its data dir exists.
    this.startMember(index);
    const deadline = Date.now() + HEALTH_TIMEOUT_MS;
    while (Date.now() < deadline) {
      try {
        await this.post(index, '/kv/range', { key: Buffer.from('health').toString('base64') }, 1_000);
        return;
      } catch {
        await sleep(100);
      }
    }
    throw new Error(`etcd member ${member.name} did not come back`);
  }

  async stop(): Promise<void> {
    for (const member of this.members) {
      member.process?.kill('SIGKILL');
      member.process = undefined;
      member.agent.destroy();
    }
    await sleep(200);
    await rm(this.dir, { recursive: true, force: true });
  }

  private post(index: number, path: string, body: object, timeoutMs: number): Promise<unknown> {
    const member = this.member(index);
    const text = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const request = http.request(
        {
          host: '127.0.0.1',
          port: member.clientPort,
          path: `/v3${path}`,
          method: 'POST',
          agent: member.agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            const answer = Buffer.concat(chunks).toString();
            if (response.statusCode !== 200) return reject(new Error(`HTTP ${response.statusCode}: ${answer.slice(0, 120)}`));
            try {
              const parsed = JSON.parse(answer) as { error?: unknown; code?: unknown };
              if (parsed.error !== undefined || parsed.code !== undefined) return reject(new Error(`etcd: ${answer.slice(0, 120)}`));
              resolve(parsed);
            } catch {
              reject(new Error('etcd answered with bad JSON'));
            }
          });
          response.on('error', reject);
        },
      );
      request.setTimeout(timeoutMs, () => request.destroy(new Error('client timeout')));
      request.on('error', reject);
      request.end(text);
    });
  }
}
