// A seed's weather and fault plan. The weather (message drop, duplicate and delay rates; pre-vote and
// check-quorum on or off; appends of one entry or of everything pending) and a list of fault events (partitions, crashes at named driver points,
// snapshots, leadership transfers, membership changes), each at a step, are drawn up front from the
// seed. The runner applies the list as given, so a list can be shrunk (shrink.ts) and written out as
// text and read back (encodePlan / decodePlan): the same seed and the same plan give the same run.

import { Prng } from '../../actors/random.js';
import type { ReplicaId } from '../../raft/types.js';
import { CRASH_POINTS } from './network.js';
import type { CrashPoint } from './network.js';

export interface Weather {
  readonly dropChance: number;
  readonly duplicateChance: number;
  readonly delayChance: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /** Byte budget of one append: SMALL_APPENDS_BYTES (one entry each) or BIG_APPENDS_BYTES (all pending). */
  readonly appendBytes: number;
}

/** Appends of one entry: replication advances entry by entry, so quorums often hold a prefix of an old term. */
export const SMALL_APPENDS_BYTES = 40;
export const BIG_APPENDS_BYTES = 1024 * 1024;

/** A membership change, resolved against the leader's configuration when it is injected. */
export type MembershipOp = 'add-learner' | 'promote' | 'demote' | 'remove' | 'replace' | 'toggle-two';
const MEMBERSHIP_OPS: readonly MembershipOp[] = ['add-learner', 'promote', 'demote', 'remove', 'replace', 'toggle-two'];

export type FaultEvent =
  | { readonly step: number; readonly kind: 'isolate'; readonly replica: ReplicaId }
  | { readonly step: number; readonly kind: 'split'; readonly minority: readonly ReplicaId[] }
  | { readonly step: number; readonly kind: 'cut'; readonly from: ReplicaId; readonly to: ReplicaId }
  | { readonly step: number; readonly kind: 'heal' }
  | { readonly step: number; readonly kind: 'crash'; readonly replica: ReplicaId; readonly point: CrashPoint | 'idle' }
  | { readonly step: number; readonly kind: 'snapshot'; readonly replica: ReplicaId }
  | { readonly step: number; readonly kind: 'transfer'; readonly to: ReplicaId }
  | { readonly step: number; readonly kind: 'membership'; readonly op: MembershipOp; readonly pick: number };

export interface FaultPlan {
  readonly weather: Weather;
  readonly events: readonly FaultEvent[];
}

/** Per-step rates of the fault events, drawn per seed (seeds differ in weather, not only in order). */
interface FaultRates {
  readonly partition: number;
  readonly oneWay: number;
  readonly heal: number;
  readonly crash: number;
  readonly snapshot: number;
  readonly transfer: number;
  readonly membership: number;
}

export const REPLICA_IDS: readonly ReplicaId[] = [1, 2, 3, 4, 5];

/** The plan of `seed` for a run of `steps` safety steps. */
export function planFaults(seed: number, steps: number): FaultPlan {
  const random = new Prng(seed ^ 0x5eed_f417);
  const weather: Weather = {
    dropChance: random.next() * 0.1,
    duplicateChance: random.next() * 0.05,
    delayChance: random.next() * 0.1,
    preVote: random.chance(0.5),
    checkQuorum: random.chance(0.5),
    appendBytes: random.chance(0.5) ? SMALL_APPENDS_BYTES : BIG_APPENDS_BYTES,
  };
  const rates: FaultRates = {
    partition: random.next() * 0.08,
    oneWay: random.next() * 0.03,
    heal: 0.03 + random.next() * 0.05,
    crash: random.next() * 0.05,
    snapshot: random.next() * 0.04,
    transfer: random.next() * 0.03,
    membership: random.next() * 0.03,
  };
  const events: FaultEvent[] = [];
  for (let step = 0; step < steps; step++) {
    const replica = random.pick(REPLICA_IDS);
    if (random.chance(rates.partition)) {
      if (random.chance(0.5)) events.push({ step, kind: 'isolate', replica });
      else events.push({ step, kind: 'split', minority: shuffled(random, REPLICA_IDS).slice(0, 2).sort() });
    }
    if (random.chance(rates.oneWay)) events.push({ step, kind: 'cut', from: replica, to: random.pick(REPLICA_IDS.filter((id) => id !== replica)) });
    if (random.chance(rates.heal)) events.push({ step, kind: 'heal' });
    if (random.chance(rates.crash)) events.push({ step, kind: 'crash', replica: random.pick(REPLICA_IDS), point: random.pick([...CRASH_POINTS, 'idle'] as const) });
    if (random.chance(rates.snapshot)) events.push({ step, kind: 'snapshot', replica: random.pick(REPLICA_IDS) });
    if (random.chance(rates.transfer)) events.push({ step, kind: 'transfer', to: random.pick(REPLICA_IDS) });
    if (random.chance(rates.membership)) events.push({ step, kind: 'membership', op: random.pick(MEMBERSHIP_OPS), pick: random.int(1000) });
  }
  return { weather, events };
}

function shuffled<T>(random: Prng, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

export function describeEvent(event: FaultEvent): string {
  switch (event.kind) {
    case 'isolate':
      return `isolate ${event.replica}`;
    case 'split':
      return `split {${event.minority.join(',')}} from the rest`;
    case 'cut':
      return `one-way cut ${event.from}->${event.to}`;
    case 'heal':
      return 'heal';
    case 'crash':
      return event.point === 'idle' ? `crash ${event.replica} between Readies` : `crash ${event.replica} at its next Ready, ${event.point}`;
    case 'snapshot':
      return `snapshot ${event.replica}`;
    case 'transfer':
      return `transfer leadership to ${event.to}`;
    case 'membership':
      return `membership ${event.op} (pick ${event.pick})`;
  }
}

// ------------------------------------------------------------------ text form, for replays

/** One line: `drop=..,dup=..,delay=..,preVote=0|1,checkQuorum=0|1,appendBytes=N;12:isolate:3;40:split:1.2;...`. */
export function encodePlan(plan: FaultPlan): string {
  const w = plan.weather;
  const head = `drop=${w.dropChance},dup=${w.duplicateChance},delay=${w.delayChance},preVote=${w.preVote ? 1 : 0},checkQuorum=${w.checkQuorum ? 1 : 0},appendBytes=${w.appendBytes}`;
  return [head, ...plan.events.map(encodeEvent)].join(';');
}

function encodeEvent(event: FaultEvent): string {
  switch (event.kind) {
    case 'isolate':
      return `${event.step}:isolate:${event.replica}`;
    case 'split':
      return `${event.step}:split:${event.minority.join('.')}`;
    case 'cut':
      return `${event.step}:cut:${event.from}.${event.to}`;
    case 'heal':
      return `${event.step}:heal`;
    case 'crash':
      return `${event.step}:crash:${event.replica}:${event.point}`;
    case 'snapshot':
      return `${event.step}:snapshot:${event.replica}`;
    case 'transfer':
      return `${event.step}:transfer:${event.to}`;
    case 'membership':
      return `${event.step}:membership:${event.op}:${event.pick}`;
  }
}

export class PlanSyntaxError extends Error {
  readonly code = 'SIM_PLAN_SYNTAX';
}

export function decodePlan(text: string): FaultPlan {
  const [head = '', ...rest] = text.split(';').filter((part) => part.length > 0);
  const fields = new Map(head.split(',').map((pair) => pair.split('=') as [string, string]));
  const number = (name: string): number => {
    const value = Number(fields.get(name));
    if (!Number.isFinite(value)) throw new PlanSyntaxError(`plan weather: ${name} missing or not a number in "${head}"`);
    return value;
  };
  const weather: Weather = {
    dropChance: number('drop'),
    duplicateChance: number('dup'),
    delayChance: number('delay'),
    preVote: number('preVote') === 1,
    checkQuorum: number('checkQuorum') === 1,
    appendBytes: number('appendBytes'),
  };
  return { weather, events: rest.map(decodeEvent) };
}

function decodeEvent(text: string): FaultEvent {
  const [stepText = '', kind = '', a = '', b = ''] = text.split(':');
  const step = Number(stepText);
  const id = (value: string): ReplicaId => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new PlanSyntaxError(`plan event "${text}": bad replica "${value}"`);
    return n;
  };
  if (!Number.isInteger(step) || step < 0) throw new PlanSyntaxError(`plan event "${text}": bad step`);
  switch (kind) {
    case 'isolate':
      return { step, kind, replica: id(a) };
    case 'split':
      return { step, kind, minority: a.split('.').map(id) };
    case 'cut': {
      const [from = '', to = ''] = a.split('.');
      return { step, kind, from: id(from), to: id(to) };
    }
    case 'heal':
      return { step, kind };
    case 'crash': {
      const point = b as CrashPoint | 'idle';
      if (point !== 'idle' && !CRASH_POINTS.includes(point)) throw new PlanSyntaxError(`plan event "${text}": bad crash point "${b}"`);
      return { step, kind, replica: id(a), point };
    }
    case 'snapshot':
      return { step, kind, replica: id(a) };
    case 'transfer':
      return { step, kind, to: id(a) };
    case 'membership': {
      const op = a as MembershipOp;
      if (!MEMBERSHIP_OPS.includes(op)) throw new PlanSyntaxError(`plan event "${text}": bad membership op "${a}"`);
      return { step, kind, op, pick: Number(b) };
    }
    default:
      throw new PlanSyntaxError(`plan event "${text}": unknown kind "${kind}"`);
  }
}
