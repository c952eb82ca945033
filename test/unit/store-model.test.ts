// Generated tests of the store state machine: determinism (byte-identical snapshots and results),
// a model-based comparison against a plain Map reference, snapshot/restore equivalence, and
// garbage entry data. fast-check prints the seed and the shrunk counterexample on failure.
import test from 'ava';
import fc from 'fast-check';
import {
  BadCommandError,
  SnapshotFormatError,
  StateMachine,
  decodeCommand,
  encodeCommand,
  encodeResult,
  prefixEnd,
  type ApplyResult,
  type Command,
  type CommandBody,
  type Compare,
  type RequestOp,
} from '../../src/store/index.js';
import { bytes, text } from './store-helpers.js';

const KEYS = ['/a', '/b', '/c', '/d/1', '/d/2', '/d/3', '/e'];
const keyArb = fc.constantFrom(...KEYS);
const valueArb = fc.constantFrom('', 'x', 'y', 'zz').map(bytes);

const putArb = fc.record({ key: keyArb, value: valueArb, prevKv: fc.boolean() });
const deleteArb = fc.oneof(
  fc.record({ key: keyArb, prevKv: fc.boolean() }),
  fc.constant({ key: '/d/', rangeEnd: prefixEnd('/d/'), prevKv: true }),
);
const compareArb: fc.Arbitrary<Compare> = fc.oneof(
  fc.record({ key: keyArb, target: fc.constantFrom('version' as const, 'modRevision' as const, 'createRevision' as const), result: fc.constantFrom('equal' as const, 'notEqual' as const, 'less' as const, 'greater' as const), value: fc.nat(12) }),
  fc.record({ key: keyArb, target: fc.constant('value' as const), result: fc.constantFrom('equal' as const, 'notEqual' as const, 'less' as const, 'greater' as const), value: valueArb }),
);
const opArb: fc.Arbitrary<RequestOp> = fc.oneof(
  putArb.map((put) => ({ put })),
  deleteArb.map((deleteRange) => ({ deleteRange })),
  keyArb.map((key) => ({ range: { key } })),
);
const txnArb = fc.record({ compare: fc.array(compareArb, { maxLength: 2 }), success: fc.array(opArb, { maxLength: 3 }), failure: fc.array(opArb, { maxLength: 3 }) });

/** A generated step: a command body (compaction is relative to the current revision). */
type Step = { body: CommandBody } | { compactBack: number };

const kvStepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: putArb.map((put) => ({ body: { type: 'put' as const, put } })) },
  { weight: 2, arbitrary: deleteArb.map((deleteRange) => ({ body: { type: 'deleteRange' as const, deleteRange } })) },
  { weight: 2, arbitrary: txnArb.map((txn) => ({ body: { type: 'txn' as const, txn } })) },
);
const anyStepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 8, arbitrary: kvStepArb },
  { weight: 1, arbitrary: fc.nat(6).map((compactBack) => ({ compactBack })) },
  {
    weight: 3,
    arbitrary: fc.oneof(
      fc.record({ key: keyArb, value: valueArb, lease: fc.integer({ min: 1, max: 3 }) }).map((put) => ({ body: { type: 'put' as const, put } })),
      fc.record({ id: fc.integer({ min: 0, max: 3 }), ttlSeconds: fc.integer({ min: 1, max: 30 }) }).map(({ id, ttlSeconds }) => ({ body: { type: 'leaseGrant' as const, id, ttlSeconds } })),
      fc.integer({ min: 1, max: 3 }).map((id) => ({ body: { type: 'leaseRevoke' as const, id } })),
      fc.integer({ min: 1, max: 3 }).map((id) => ({ body: { type: 'leaseKeepAlive' as const, id } })),
      fc.constant({ body: { type: 'leaseCheckpoint' as const } }),
      fc.nat(2000).map((graceMs) => ({ body: { type: 'leaseRebase' as const, graceMs } })),
    ),
  },
);
const sessionArb = fc.option(fc.record({ clientId: fc.constantFrom('c1', 'c2'), sequence: fc.integer({ min: 1, max: 8 }) }), { nil: undefined });
const timedStepArb = fc.record({ step: anyStepArb, session: sessionArb, advanceMs: fc.nat(3000) });
type TimedStep = { step: Step; session: { clientId: string; sequence: number } | undefined; advanceMs: number };

function toCommand(machine: StateMachine, timed: TimedStep, nowMs: number): Command {
  const body: CommandBody = 'compactBack' in timed.step ? { type: 'compact', revision: Math.max(0, machine.revision - timed.step.compactBack) } : timed.step.body;
  return timed.session === undefined ? { nowMs, body } : { nowMs, session: timed.session, body };
}

function run(machine: StateMachine, steps: readonly TimedStep[], startIndex = 0, startMs = 1_000_000): ApplyResult[] {
  let nowMs = startMs;
  return steps.map((timed, i) => {
    nowMs += timed.advanceMs;
    // Through the encoding, as the replica does.
    return machine.applyEntry(startIndex + i + 1, encodeCommand(toCommand(machine, timed, nowMs)));
  });
}

const hex = (data: Uint8Array): string => Buffer.from(data).toString('hex');

test('determinism: the same commands give identical results and byte-identical snapshots (whatever physical compaction did)', (t) => {
  fc.assert(
    fc.property(fc.array(timedStepArb, { minLength: 1, maxLength: 60 }), fc.nat(5), (steps, stepsPerApply) => {
      // One replica never compacts physically, the other as far as its idle time allows.
      const one = new StateMachine({ compactionKeysPerApply: 0 });
      const two = new StateMachine();
      const resultsOne = run(one, steps);
      let nowMs = 1_000_000;
      const resultsTwo = steps.map((timed, i) => {
        nowMs += timed.advanceMs;
        const result = two.applyEntry(i + 1, encodeCommand(toCommand(two, timed, nowMs)));
        two.compactStep(stepsPerApply); // a replica with idle time compacts further
        return result;
      });
      return resultsOne.every((r, i) => hex(encodeResult(r)) === hex(encodeResult(resultsTwo[i]!))) && hex(one.snapshot()) === hex(two.snapshot());
    }),
    { numRuns: 150 },
  );
  t.pass();
});

interface ModelValue {
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
}

/** The reference: a Map per revision. */
class Model {
  revision = 0;
  current = new Map<string, ModelValue>();
  readonly history: Array<Map<string, ModelValue>> = [new Map()];

  private keysIn(key: string, rangeEnd: string | undefined): string[] {
    return [...this.current.keys()].filter((k) => (rangeEnd === undefined ? k === key : k >= key && k < rangeEnd)).sort();
  }
  private compare(c: Compare): boolean {
    const v = this.current.get(c.key);
    const order =
      c.target === 'value'
        ? (() => {
            const a = v?.value ?? '';
            const b = text(c.value as Uint8Array);
            return a < b ? -1 : a > b ? 1 : 0;
          })()
        : (v === undefined ? 0 : v[c.target as 'version' | 'modRevision' | 'createRevision']) - (c.value as number);
    return c.result === 'equal' ? order === 0 : c.result === 'notEqual' ? order !== 0 : c.result === 'less' ? order < 0 : order > 0;
  }
  apply(body: CommandBody): void {
    const next = new Map(this.current);
    const revision = this.revision + 1;
    let wrote = false;
    const put = (key: string, value: Uint8Array): void => {
      const prev = next.get(key);
      next.set(key, { value: text(value), createRevision: prev?.createRevision ?? revision, modRevision: revision, version: (prev?.version ?? 0) + 1 });
      wrote = true;
    };
    const del = (key: string, rangeEnd: string | undefined): void => {
      for (const k of [...next.keys()].filter((k) => (rangeEnd === undefined ? k === key : k >= key && k < rangeEnd))) {
        next.delete(k);
        wrote = true;
      }
    };
    const ops = (list: readonly RequestOp[]): void => {
      for (const op of list) {
        if ('put' in op) put(op.put.key, op.put.value);
        else if ('deleteRange' in op) del(op.deleteRange.key, op.deleteRange.rangeEnd);
      }
    };
    if (body.type === 'put') put(body.put.key, body.put.value);
    else if (body.type === 'deleteRange') del(body.deleteRange.key, body.deleteRange.rangeEnd);
    else if (body.type === 'txn') ops(body.txn.compare.every((c) => this.compare(c)) ? body.txn.success : body.txn.failure);
    if (wrote) {
      this.revision = revision;
      this.current = next;
      this.history.push(next);
    }
    void this.keysIn;
  }
}

function view(machine: StateMachine, revision?: number): string {
  const result = machine.range(revision === undefined ? { key: '/', rangeEnd: '\0' } : { key: '/', rangeEnd: '\0', revision });
  return JSON.stringify(result.kvs.map((kv) => [kv.key, text(kv.value), kv.createRevision, kv.modRevision, kv.version]));
}
function modelView(map: Map<string, ModelValue>): string {
  return JSON.stringify([...map.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, v.value, v.createRevision, v.modRevision, v.version]));
}

test('model-based: put/delete/range/txn agree with a Map reference, now and at every past revision', (t) => {
  fc.assert(
    fc.property(fc.array(kvStepArb, { minLength: 1, maxLength: 80 }), (steps) => {
      const machine = new StateMachine();
      const model = new Model();
      steps.forEach((step, i) => {
        if (!('body' in step)) return;
        machine.apply(i + 1, { nowMs: 1000 + i, body: step.body });
        model.apply(step.body);
        if (machine.revision !== model.revision) throw new Error(`revision ${machine.revision} != model ${model.revision} after step ${i}`);
        if (view(machine) !== modelView(model.current)) throw new Error(`state differs after step ${i}: ${view(machine)} vs ${modelView(model.current)}`);
      });
      for (let revision = 1; revision <= model.revision; revision++) {
        if (view(machine, revision) !== modelView(model.history[revision]!)) throw new Error(`revision ${revision} differs`);
      }
      return true;
    }),
    { numRuns: 200 },
  );
  t.pass();
});

test('snapshot/restore: a restored machine answers every further command and read like the original', (t) => {
  fc.assert(
    fc.property(fc.array(timedStepArb, { minLength: 1, maxLength: 50 }), fc.array(timedStepArb, { minLength: 1, maxLength: 30 }), (before, after) => {
      const original = new StateMachine();
      run(original, before);
      const snapshot = original.snapshot();
      const restored = new StateMachine();
      restored.restore(snapshot);
      if (hex(restored.snapshot()) !== hex(snapshot)) throw new Error('restore then snapshot is not identical');
      const startMs = 1_000_000 + before.reduce((sum, s) => sum + s.advanceMs, 0);
      const a = run(original, after, before.length, startMs);
      const b = run(restored, after, before.length, startMs);
      if (!a.every((r, i) => hex(encodeResult(r)) === hex(encodeResult(b[i]!)))) throw new Error('results differ');
      for (let revision = original.compactRevision; revision <= original.revision; revision++) {
        if (revision === 0) continue;
        if (view(original, revision) !== view(restored, revision)) throw new Error(`read at ${revision} differs`);
      }
      const wa = original.watches.watch({ key: '/', rangeEnd: '\0', startRevision: original.compactRevision + 1, prevKv: true });
      const wb = restored.watches.watch({ key: '/', rangeEnd: '\0', startRevision: restored.compactRevision + 1, prevKv: true });
      return JSON.stringify(original.watches.take(wa, 1e6).events) === JSON.stringify(restored.watches.take(wb, 1e6).events) && hex(original.snapshot()) === hex(restored.snapshot());
    }),
    { numRuns: 150 },
  );
  t.pass();
});

test('bad input: decodeCommand on garbage returns a command or a BadCommandError, never throws; state untouched', (t) => {
  const machine = new StateMachine();
  machine.apply(1, { nowMs: 1, body: { type: 'put', put: { key: '/keep', value: bytes('v') } } });
  let index = 1;
  const check = (data: Uint8Array): boolean => {
    const decoded = decodeCommand(data);
    if (!(decoded instanceof BadCommandError) && (decoded instanceof Error || typeof decoded.body?.type !== 'string')) return false;
    if (decoded instanceof BadCommandError) {
      const result = machine.applyEntry(++index, data);
      // Empty data is the leader's no-op entry.
      const expected = data.length === 0 ? result.type === 'noop' : result.type === 'error' && result.code === 'BAD_COMMAND';
      return expected && machine.revision === 1 && view(machine).includes('/keep');
    }
    return true;
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), check), { numRuns: 2000 });
  // Well-formed CBOR of the wrong shape, including near-misses of real commands.
  fc.assert(fc.property(fc.anything(), (value) => check(encodeCommand(value as Command))), { numRuns: 1000 });
  const nearMiss = fc.record({ nowMs: fc.oneof(fc.nat(), fc.string(), fc.constant(-1)), body: fc.record({ type: fc.constantFrom('put', 'txn', 'deleteRange', 'nope'), put: fc.anything(), txn: fc.anything() }) });
  fc.assert(fc.property(nearMiss, (value) => check(encodeCommand(value as unknown as Command))), { numRuns: 1000 });
  t.is(machine.revision, 1);
});

test('bad input: txns nested too deep and snapshots that are garbage are refused without touching state', (t) => {
  let txn: Record<string, unknown> = { compare: [], success: [], failure: [] };
  for (let depth = 0; depth < 6; depth++) txn = { compare: [], success: [{ txn }], failure: [] };
  const decoded = decodeCommand(encodeCommand({ nowMs: 1, body: { type: 'txn', txn } } as unknown as Command));
  t.true(decoded instanceof BadCommandError);
  const machine = new StateMachine();
  machine.apply(1, { nowMs: 1, body: { type: 'put', put: { key: '/keep', value: bytes('v') } } });
  const before = hex(machine.snapshot());
  t.throws(() => machine.restore(new Uint8Array([1, 2, 3])), { instanceOf: SnapshotFormatError });
  t.throws(() => machine.restore(encodeCommand({ nowMs: 1 } as unknown as Command)), { instanceOf: SnapshotFormatError });
  t.is(hex(machine.snapshot()), before);
});

