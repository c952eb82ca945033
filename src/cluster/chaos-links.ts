// Link faults between real processes: partitions (symmetric or one-way), delays and drops, enforced
// in each process's transport. `kplane chaos partition|heal|delay|drop` writes the rules to a file in
// the cluster directory (`link-faults.json`); every process started by `kplane up` learns its path
// from the environment (LINK_FAULTS_ENV) and wraps its actor Transport in a LinkFaultTransport that
// re-reads the file when it changes (polled every LINK_FAULTS_POLL_MS) and applies the rules to the
// frames it sends and receives. The transport layer stays the only place that moves frames; this
// wrapper only withholds or postpones them, so both ends see a silent peer, as on a real network.
//
// A rule names processes by name (`store-1`, `apiserver-1`) or '*'. A node matches a name when its
// node id's name part is that name or starts with `<name>-` (the API server's store client is
// `apiserver-1-store-<id>`, so it is cut off together with its API server).
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { NodeAddress, NodeId, PeerCertificateSubject, Transport, TransportEvents } from '../actors/transport.js';
import type { Random } from '../actors/random.js';

export const LINK_FAULTS_ENV = 'KPLANE_LINK_FAULTS_FILE';
export const LINK_FAULTS_FILE = 'link-faults.json';
export const LINK_FAULTS_POLL_MS = 200;

/** One directional rule: frames from a `from` process to a `to` process are blocked, dropped or delayed. */
export interface LinkRule {
  readonly from: readonly string[];
  readonly to: readonly string[];
  readonly block?: boolean;
  /** 0..100. */
  readonly dropPercent?: number;
  readonly delayMs?: number;
}

export interface LinkFaults {
  readonly rules: readonly LinkRule[];
}

export const NO_LINK_FAULTS: LinkFaults = { rules: [] };

export function writeLinkFaults(file: string, faults: LinkFaults): void {
  writeFileSync(`${file}.tmp`, JSON.stringify(faults, null, 2));
  renameSync(`${file}.tmp`, file);
}

export function readLinkFaults(file: string): LinkFaults {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<LinkFaults>;
    return { rules: Array.isArray(parsed.rules) ? parsed.rules : [] };
  } catch {
    return NO_LINK_FAULTS;
  }
}

/** Rules cutting group `a` off from group `b`: both directions, or only a → b when `oneWay`. */
export function partitionRules(a: readonly string[], b: readonly string[], oneWay: boolean): LinkRule[] {
  const rules: LinkRule[] = [{ from: a, to: b, block: true }];
  if (!oneWay) rules.push({ from: b, to: a, block: true });
  return rules;
}

/** Rules affecting every frame to and from `target`. */
export function targetRules(targets: readonly string[], effect: { readonly dropPercent: number } | { readonly delayMs: number }): LinkRule[] {
  return [
    { from: targets, to: ['*'], ...effect },
    { from: ['*'], to: targets, ...effect },
  ];
}

function nameOf(node: NodeId): string {
  const at = node.indexOf('@');
  return at < 0 ? node : node.slice(0, at);
}

function matches(patterns: readonly string[], node: NodeId): boolean {
  const name = nameOf(node);
  return patterns.some((pattern) => pattern === '*' || name === pattern || name.startsWith(`${pattern}-`));
}

type Verdict = { readonly kind: 'pass' } | { readonly kind: 'drop' } | { readonly kind: 'delay'; readonly ms: number };

/** What the rules say about one frame from `from` to `to`. */
export function judgeFrame(faults: LinkFaults, from: NodeId, to: NodeId, random: Random): Verdict {
  let delayMs = 0;
  for (const rule of faults.rules) {
    if (!matches(rule.from, from) || !matches(rule.to, to)) continue;
    if (rule.block === true) return { kind: 'drop' };
    if (rule.dropPercent !== undefined && random.next() * 100 < rule.dropPercent) return { kind: 'drop' };
    if (rule.delayMs !== undefined) delayMs = Math.max(delayMs, rule.delayMs);
  }
  return delayMs > 0 ? { kind: 'delay', ms: delayMs } : { kind: 'pass' };
}

/** A Transport that applies the link-fault file's rules to what the inner transport moves. */
export class LinkFaultTransport implements Transport {
  private faults: LinkFaults = NO_LINK_FAULTS;
  private seenVersion = '';
  private readonly poller: NodeJS.Timeout;

  constructor(
    private readonly inner: Transport,
    private readonly file: string,
    private readonly random: Random,
    private readonly log: Logger,
  ) {
    this.reload();
    this.poller = setInterval(() => this.reload(), LINK_FAULTS_POLL_MS);
    this.poller.unref();
  }

  get local(): NodeAddress {
    return this.inner.local;
  }

  bind(events: TransportEvents): void {
    this.inner.bind({
      onFrame: (from: NodeAddress, frame: Uint8Array, certificate?: PeerCertificateSubject) => {
        const verdict = judgeFrame(this.faults, from.node, this.local.node, this.random);
        const deliver = (): void => (certificate === undefined ? events.onFrame(from, frame) : events.onFrame(from, frame, certificate));
        if (verdict.kind === 'pass') deliver();
        else if (verdict.kind === 'delay') setTimeout(deliver, verdict.ms).unref();
      },
      onPeerUp: (peer) => events.onPeerUp(peer),
      onPeerDown: (peer, reason) => events.onPeerDown(peer, reason),
    });
  }

  send(to: NodeId, frame: Uint8Array): void {
    const verdict = judgeFrame(this.faults, this.local.node, to, this.random);
    if (verdict.kind === 'pass') this.inner.send(to, frame);
    else if (verdict.kind === 'delay') setTimeout(() => this.inner.send(to, frame), verdict.ms).unref();
  }

  disconnect(peer: NodeId, reason: string): void {
    this.inner.disconnect(peer, reason);
  }

  close(): Promise<void> {
    clearInterval(this.poller);
    return this.inner.close();
  }

  private reload(): void {
    // Every write replaces the file (a rename), so its inode and mtime say whether it changed.
    let version: string;
    try {
      const stat = statSync(this.file);
      version = `${stat.ino}:${stat.mtimeMs}`;
    } catch {
      version = 'absent';
    }
    if (version === this.seenVersion) return;
    const first = this.seenVersion === '';
    this.seenVersion = version;
    this.faults = version === 'absent' ? NO_LINK_FAULTS : readLinkFaults(this.file);
    if (!first || this.faults.rules.length > 0) this.log.warn({ rules: this.faults.rules }, 'link faults changed');
  }
}

/** The transport wrapped in link faults when the launcher set LINK_FAULTS_ENV, else unchanged. */
export function withLinkFaults(transport: Transport, random: Random, log: Logger, env: NodeJS.ProcessEnv = process.env): Transport {
  const file = env[LINK_FAULTS_ENV];
  if (file === undefined || file === '') return transport;
  return new LinkFaultTransport(transport, file, random, log);
}
