// A simulated store client. It issues seeded get / put / delete / cas operations one at a time, sends
// each to the replica it believes leads, follows NOT_LEADER answers, and on a timeout or a failure
// tries another replica. Writes carry a session (clientId, sequence); a write is retried under the
// SAME sequence until it is answered, so the state machine applies it exactly once (sessions.ts).
// Every operation is recorded for the linearizability checker (an unanswered one as pending), and
// every acknowledged write is kept for the "no acknowledged write lost" check.
//
// Two deliberately broken modes exist for the simulator's self-test (proof that its checks can fail):
// 'ack-before-apply' reports a write done as soon as it is sent; 'new-sequence-on-retry' retries a
// write under a fresh sequence, which defeats the session table's deduplication.
import type { Random } from '../../actors/random.js';
import { NO_REPLICA, type ReplicaId } from '../../raft/index.js';
import type { ApplyResult, CommandBody } from '../../store/commands.js';
import { NotLeaderError } from '../../store/errors.js';
import type { Operation, OperationInput, OperationOutput } from '../linearizability/history.js';
import type { SimClock } from './sim-clock.js';
import type { ReplicaSet } from './replicas.js';
import { sleep, within, type Outcome } from './sim-time.js';

export type BrokenClient = 'ack-before-apply' | 'new-sequence-on-retry';

/** What the self-test can break: a client, or the disks ('fsync-lies': persist resolves before the data is durable). */
export type BrokenPart = BrokenClient | 'fsync-lies';

/** A client gives a replica this long to answer one attempt before trying another. */
export const CLIENT_ATTEMPT_TIMEOUT_MS = 4_000;

export interface AckedWrite {
  readonly clientId: number;
  readonly input: OperationInput;
  /** The revision in the answer's header. */
  readonly revision: number;
  /** Whether the write changed the store (a cas that failed or a delete of nothing did not). */
  readonly changed: boolean;
}

export interface ClientEnv {
  readonly clock: SimClock;
  readonly random: Random;
  readonly replicas: ReplicaSet;
  readonly keys: readonly string[];
  readonly thinkMaxMs: number;
  readonly history: Operation[];
  readonly acked: AckedWrite[];
  /** Something the client saw that must never happen (an error result, a stale sequence). */
  readonly problems: string[];
  readonly broken?: BrokenClient;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class SimClient {
  private leaderGuess: ReplicaId;
  private sequence = 0;
  private writes = 0;
  /** Values this client last saw or wrote, per key (so that some cas operations succeed). */
  private readonly lastSeen = new Map<string, string | null>();
  private stopping = false;
  private abandoning = false;
  private running: Promise<void> | undefined;
  idle = true;
  attempts = 0;

  constructor(
    readonly id: number,
    private readonly env: ClientEnv,
  ) {
    this.leaderGuess = env.random.pick(env.replicas.ids);
  }

  /** Starts the operation loop. */
  start(): void {
    this.running = this.loop();
  }

  /** No new operations after the current one. */
  stop(): Promise<void> {
    this.stopping = true;
    return this.running ?? Promise.resolve();
  }

  /** Gives up the operation in flight (it is recorded as pending). */
  abandon(): void {
    this.stopping = true;
    this.abandoning = true;
  }

  /** One put outside the random loop (the liveness probe); resolves true when acknowledged. */
  async put(key: string, value: string): Promise<boolean> {
    this.idle = false;
    const done = await this.perform({ kind: 'put', key, value });
    this.idle = true;
    return done;
  }

  private async loop(): Promise<void> {
    const { clock, random } = this.env;
    while (!this.stopping) {
      await sleep(clock, random.int(this.env.thinkMaxMs + 1));
      if (this.stopping) break;
      this.idle = false;
      await this.perform(this.nextInput());
      this.idle = true;
    }
  }

  private nextInput(): OperationInput {
    const random = this.env.random;
    const key = random.pick(this.env.keys);
    const roll = random.next();
    if (roll < 0.35) return { kind: 'get', key };
    const value = `c${this.id}w${++this.writes}`;
    if (roll < 0.7) return { kind: 'put', key, value };
    if (roll < 0.8) return { kind: 'delete', key };
    const seen = this.lastSeen.get(key);
    const expected = seen !== undefined && random.chance(0.8) ? seen : random.chance(0.5) ? null : `c${random.int(4)}w${random.int(this.writes + 1)}`;
    return { kind: 'cas', key, expected, value };
  }

  /** Runs one operation to its answer (or until abandoned) and records it; true when answered. */
  private async perform(input: OperationInput): Promise<boolean> {
    const invokedAtMs = this.env.clock.now();
    if (input.kind === 'get') {
      const value = await this.retry((target) => this.read(target, input.key));
      if (value === undefined) return false; // a read with no answer changed nothing: not recorded
      this.lastSeen.set(input.key, value);
      this.record({ clientId: this.id, input, invokedAtMs, returnedAtMs: this.env.clock.now(), output: { kind: 'get', value } });
      return true;
    }
    const body = commandFor(input);
    if (this.env.broken === 'ack-before-apply') {
      this.record({ clientId: this.id, input, invokedAtMs, returnedAtMs: invokedAtMs, output: presumedOutput(input) });
      const sequence = ++this.sequence;
      void this.retry((target) => this.write(target, body, sequence));
      return true;
    }
    const sequence = ++this.sequence;
    const result = await this.retry((target) => this.write(target, body, this.env.broken === 'new-sequence-on-retry' ? ++this.sequence : sequence));
    if (result === undefined) {
      this.record({ clientId: this.id, input, invokedAtMs });
      return false;
    }
    const answer = this.interpret(input, result);
    if (answer === undefined) {
      this.record({ clientId: this.id, input, invokedAtMs });
      return false;
    }
    this.record({ clientId: this.id, input, invokedAtMs, returnedAtMs: this.env.clock.now(), output: answer.output });
    this.env.acked.push({ clientId: this.id, input, revision: answer.revision, changed: answer.changed });
    if (input.kind === 'put' || (input.kind === 'cas' && answer.changed)) this.lastSeen.set(input.key, input.value);
    if (input.kind === 'delete') this.lastSeen.set(input.key, null);
    return true;
  }

  private interpret(input: OperationInput, result: ApplyResult): { output: OperationOutput; revision: number; changed: boolean } | undefined {
    if (input.kind === 'put' && result.type === 'put') return { output: { kind: 'put' }, revision: result.put.header.revision, changed: true };
    if (input.kind === 'delete' && result.type === 'deleteRange') {
      return { output: { kind: 'delete' }, revision: result.deleteRange.header.revision, changed: result.deleteRange.deleted > 0 };
    }
    if (input.kind === 'cas' && result.type === 'txn') {
      return { output: { kind: 'cas', ok: result.txn.succeeded }, revision: result.txn.header.revision, changed: result.txn.succeeded };
    }
    const detail = result.type === 'error' ? `${result.code}: ${result.message}` : result.type;
    this.env.problems.push(`client ${this.id}: a ${input.kind} of ${input.key} was answered with ${detail}`);
    return undefined;
  }

  private read(target: ReplicaId, key: string): Promise<string | null> | undefined {
    const node = this.env.replicas.node(target);
    if (node === undefined) return undefined;
    return node.range({ key }).then((result) => {
      const kv = result.kvs[0];
      return kv === undefined ? null : decoder.decode(kv.value);
    });
  }

  private write(target: ReplicaId, body: CommandBody, sequence: number): Promise<ApplyResult> | undefined {
    const node = this.env.replicas.node(target);
    if (node === undefined) return undefined;
    return node.write(body, { clientId: `client-${this.id}`, sequence });
  }

  /**
   * Sends `call` to the believed leader until it answers; undefined if abandoned first. A replica
   * that is down refuses at once (connection refused); NOT_LEADER names the leader to try next.
   */
  private async retry<T>(call: (target: ReplicaId) => Promise<T> | undefined): Promise<T | undefined> {
    const { clock, random, replicas } = this.env;
    while (!this.abandoning) {
      const target = this.leaderGuess;
      this.attempts++;
      const promise = call(target);
      const outcome: Outcome<T> = promise === undefined ? { kind: 'error', error: undefined } : await within(clock, promise, CLIENT_ATTEMPT_TIMEOUT_MS);
      if (outcome.kind === 'ok') return outcome.value;
      const named = outcome.kind === 'error' && outcome.error instanceof NotLeaderError ? outcome.error.leader : NO_REPLICA;
      if (named !== NO_REPLICA && named !== target) {
        this.leaderGuess = named;
        await sleep(clock, 1 + random.int(5));
      } else {
        const others = replicas.ids.filter((id) => id !== target);
        this.leaderGuess = random.pick(others.length > 0 ? others : replicas.ids);
        await sleep(clock, 20 + random.int(150));
      }
    }
    return undefined;
  }

  private record(operation: Operation): void {
    this.env.history.push(operation);
  }
}

function commandFor(input: OperationInput): CommandBody {
  switch (input.kind) {
    case 'put':
      return { type: 'put', put: { key: input.key, value: encoder.encode(input.value) } };
    case 'delete':
      return { type: 'deleteRange', deleteRange: { key: input.key } };
    case 'cas': {
      const compare =
        input.expected === null
          ? { key: input.key, target: 'version' as const, result: 'equal' as const, value: 0 }
          : { key: input.key, target: 'value' as const, result: 'equal' as const, value: encoder.encode(input.expected) };
      return { type: 'txn', txn: { compare: [compare], success: [{ put: { key: input.key, value: encoder.encode(input.value) } }], failure: [] } };
    }
    case 'get':
      throw new Error('a get is not a write');
  }
}

function presumedOutput(input: OperationInput): OperationOutput {
  if (input.kind === 'cas') return { kind: 'cas', ok: true };
  if (input.kind === 'delete') return { kind: 'delete' };
  return { kind: 'put' };
}
