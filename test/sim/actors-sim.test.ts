// The actor runtime's simulated mode (src/actors/sim/): many actor systems in one Node process on a
// seeded network and one virtual clock. Determinism (same seed => same trace digest, other seeds
// differ), remote tell/ask and ask timeouts under a partition, one-way partitions, crash and restart
// with death watch and incarnations, fault rates counted from the trace, and seeds named on failure.
import assert from 'node:assert/strict';
import test, { type ExecutionContext } from 'ava';
import type { Behavior, Signal } from '../../src/actors/behavior.js';
import { AskTimeoutError } from '../../src/actors/errors.js';
import type { MessageProtocol } from '../../src/actors/protocol.js';
import type { ActorRef } from '../../src/actors/ref.js';
import { drawLinkFaults, FAULT_LIMITS_DEFAULT, NO_FAULTS, runSeeded, SEED_ENV_VAR, SeededFailure, seedsToRun, SimWorld, validateFaults, type LinkFaults, type SimWorldOptions } from '../../src/actors/sim/index.js';
import { Prng } from '../../src/actors/random.js';

type Message = { readonly type: string; readonly [field: string]: unknown };

const PROTOCOL: MessageProtocol = { types: ['ping', 'pong', 'note'] };
const HEARTBEAT = { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 500 };
const NODES = ['a', 'b', 'c', 'd'];

function world(seed: number, faults: LinkFaults = NO_FAULTS, extra: Partial<SimWorldOptions> = {}): SimWorld {
  return new SimWorld({ seed, faults, protocol: PROTOCOL, systemOptions: HEARTBEAT, ...extra });
}

/** Runs a seeded body; on failure the test log and the error both name the seed. */
async function seeded(t: ExecutionContext, seed: number, body: (seed: number) => Promise<void>): Promise<void> {
  try {
    await runSeeded(seed, body);
  } catch (error) {
    t.log(error instanceof Error ? error.message : String(error));
    throw error;
  }
}

/** Answers ping with pong (as a reply to an ask, or a tell to `replyTo`). */
const ponger: Behavior<Message, void> = {
  start: () => undefined,
  receive: (ctx, _state, message) => {
    if (message.type === 'ping') ctx.tell(message['replyTo'] as ActorRef<Message>, { type: 'pong', n: message['n'] });
  },
};

/** Records what it receives (messages and signals). */
function recorder(into: Message[]): Behavior<Message, void> {
  return {
    start: () => undefined,
    receive: (_ctx, _state, message) => {
      into.push(message as Message);
    },
  };
}

/** Watches `target` from start; every Terminated goes to `signals`. */
function watcher(target: (self: ActorRef) => ActorRef, signals: Signal[]): Behavior<Message, void> {
  return {
    start: (ctx) => ctx.watch(target(ctx.self)),
    receive: (_ctx, _state, message) => {
      if (message.type === 'kplane.terminated') signals.push(message as Signal);
    },
  };
}

// ---- (1) determinism ----

/**
 * A non-trivial workload on four processes with faults on: every process pings random peers (tells
 * and asks), one watches another, a partition comes and goes, and a process crashes and restarts.
 * What the actors observe goes into the trace as notes.
 */
async function workload(seed: number): Promise<string> {
  const faults: LinkFaults = { dropChance: 0.05, duplicateChance: 0.05, reorderChance: 0.1, delayMinMs: 1, delayMaxMs: 20, reorderDelayMaxMs: 30 };
  const sim = world(seed, faults);
  const driver = (node: string): Behavior<Message, number> => ({
    start: (ctx) => {
      ctx.setTimer('tick', 40, { type: 'tick' }, { repeat: true });
      return 0;
    },
    receive: async (ctx, sent, message) => {
      if (message.type === 'pong') {
        sim.note(`${node} pong ${String(message['n'])}`);
        return sent;
      }
      if (message.type === 'kplane.terminated') {
        sim.note(`${node} terminated ${(message as Signal).ref.node} ${(message as Signal).reason}`);
        return sent;
      }
      if (message.type !== 'tick') return sent;
      const peer = ctx.random.pick(NODES.filter((other) => other !== node));
      const n = sent + 1;
      ctx.tell(ctx.system.refFor<Message>(peer, '/user/ponger'), { type: 'ping', n, replyTo: ctx.self });
      if (n % 3 === 0) {
        try {
          const reply = await ctx.ask<Message, Message>(ctx.system.refFor(peer, '/user/ponger'), (replyTo) => ({ type: 'ping', n, replyTo }), 150);
          sim.note(`${node} ask ${n} -> ${String(reply['n'])}`);
        } catch (error) {
          sim.note(`${node} ask ${n} failed ${error instanceof Error ? error.name : '?'}`);
        }
      }
      return n;
    },
  });
  for (const node of NODES) {
    sim.start(node, (system) => {
      system.spawn(ponger, { name: 'ponger' });
      system.spawn(driver(node), { name: 'driver' });
      if (node === 'a') system.spawn(watcher(() => system.refFor('c', '/user/ponger'), []), { name: 'watcher' });
    });
  }
  await sim.run(600);
  sim.network.partition(['a', 'b'], ['c', 'd']);
  await sim.run(400);
  sim.network.heal();
  await sim.run(300);
  sim.crash('c');
  await sim.run(800);
  sim.restart('c');
  sim.network.cut('d', 'a');
  await sim.run(500);
  sim.network.heal();
  await sim.run(400);
  for (const node of NODES) sim.note(`${node} metrics ${JSON.stringify(sim.system(node).metrics)}`);
  assert.ok(sim.trace.count('note') > 50, `the workload did something (notes=${sim.trace.count('note')})`);
  assert.ok(sim.trace.count('drop', 'fault') > 0 && sim.trace.count('duplicate') > 0 && sim.trace.count('hold') > 0, 'faults happened');
  return sim.traceDigest();
}

test('determinism: one seed gives one trace digest; other seeds give others', async (t) => {
  const digests = new Set<string>();
  for (const seed of seedsToRun([11, 12, 13], process.env[SEED_ENV_VAR])) {
    await seeded(t, seed, async () => {
      const first = await workload(seed);
      const second = await workload(seed);
      assert.equal(second, first, 'two runs of the seed differ');
      assert.ok(!digests.has(first), 'two seeds gave the same digest');
      digests.add(first);
    });
  }
  t.pass();
});

// ---- (2) remote tell and ask; ask timeout under a partition ----

test('remote tell and ask between simulated processes; an ask times out across a partition', async (t) => {
  await seeded(t, 21, async (seed) => {
    const sim = world(seed);
    const received: Message[] = [];
    sim.start('a');
    sim.start('b', (system) => {
      system.spawn(ponger, { name: 'ponger' });
      system.spawn(recorder(received), { name: 'sink' });
    });
    const a = sim.system('a');
    a.tell(a.refFor<Message>('b', '/user/sink'), { type: 'note', n: 1 });
    a.tell(a.refFor<Message>('b', '/user/sink'), { type: 'note', n: 2 });
    const reply = await sim.settle(
      a.ask<Message, Message>(a.refFor('b', '/user/ponger'), (replyTo) => ({ type: 'ping', n: 7, replyTo }), 1_000),
      1_000,
    );
    assert.deepEqual(reply, { type: 'pong', n: 7 });
    await sim.run(10);
    assert.deepEqual(received, [
      { type: 'note', n: 1 },
      { type: 'note', n: 2 },
    ]);

    sim.network.partition(['a'], ['b']);
    const startedMs = sim.now();
    await assert.rejects(
      sim.settle(
        a.ask(a.refFor<Message>('b', '/user/ponger'), (replyTo) => ({ type: 'ping', n: 8, replyTo }), 300),
        1_000,
      ),
      AskTimeoutError,
    );
    assert.equal(sim.now() - startedMs, 300, 'the ask timed out at its timeout, in virtual time');
    assert.equal(a.metrics.askTimeouts, 1);
    assert.ok(sim.trace.count('drop', 'partition') >= 1);

    sim.network.heal();
    const again = await sim.settle(a.ask<Message, Message>(a.refFor('b', '/user/ponger'), (replyTo) => ({ type: 'ping', n: 9, replyTo }), 1_000), 1_000);
    assert.deepEqual(again, { type: 'pong', n: 9 });
  });
  t.pass();
});

// ---- (3) one-way partition ----

test('a one-way partition: a->b is cut, b->a stays open', async (t) => {
  await seeded(t, 31, async (seed) => {
    const sim = world(seed);
    const atA: Message[] = [];
    const atB: Message[] = [];
    const aSignals: Signal[] = [];
    const bSignals: Signal[] = [];
    // b keeps talking to a, so a keeps hearing from b even after b stops hearing from a.
    const chatter: Behavior<Message, number> = {
      start: (ctx) => {
        ctx.setTimer('tick', 50, { type: 'tick' }, { repeat: true });
        return 0;
      },
      receive: (ctx, n, message) => {
        if (message.type === 'tick') ctx.tell(ctx.system.refFor<Message>('a', '/user/sink'), { type: 'note', n: n + 1 });
        return n + 1;
      },
    };
    sim.start('a', (system) => {
      system.spawn(recorder(atA), { name: 'sink' });
      system.spawn(watcher(() => system.refFor('b', '/user/sink'), aSignals), { name: 'watcher' });
    });
    sim.start('b', (system) => {
      system.spawn(recorder(atB), { name: 'sink' });
      system.spawn(chatter, { name: 'chatter' });
      system.spawn(watcher(() => system.refFor('a', '/user/sink'), bSignals), { name: 'watcher' });
    });
    await sim.run(300);
    const a = sim.system('a');
    const b = sim.system('b');
    sim.network.cut('a', 'b');
    const atABefore = atA.length;
    a.tell(a.refFor<Message>('b', '/user/sink'), { type: 'note', n: -1 });
    b.tell(b.refFor<Message>('a', '/user/sink'), { type: 'note', n: -2 });
    await sim.run(2_000);
    assert.deepEqual(atB, [], 'nothing crossed from a to b');
    assert.ok(atA.some((message) => message['n'] === -2), 'b -> a still delivers');
    assert.ok(atA.length - atABefore > 30, `b's chatter kept arriving (${atA.length - atABefore})`);
    // The failure detectors disagree, as they should: b no longer hears a, a still hears b.
    assert.equal(bSignals.length, 1);
    assert.equal(bSignals[0]?.reason, 'unreachable');
    assert.deepEqual(aSignals, []);
    const lines = sim.trace.lines();
    const cutAt = lines.findIndex((line) => line.includes(' cut a->b'));
    const after = lines.slice(cutAt);
    assert.ok(!after.some((line) => / deliver a->b /.test(line)), 'no frame delivered on the cut direction');
    assert.ok(after.some((line) => / deliver b->a /.test(line)));
    assert.ok(after.some((line) => / drop a->b .*partition/.test(line)));
    assert.ok(!after.some((line) => / drop b->a /.test(line)));
  });
  t.pass();
});

test('isolate cuts a node off from everyone, also from processes started later; heal reopens', async (t) => {
  await seeded(t, 32, async (seed) => {
    const sim = world(seed);
    const atB: Message[] = [];
    sim.start('a');
    sim.start('b', (system) => {
      system.spawn(recorder(atB), { name: 'sink' });
    });
    sim.network.isolate('b');
    sim.start('late');
    const a = sim.system('a');
    const late = sim.system('late');
    a.tell(a.refFor<Message>('b', '/user/sink'), { type: 'note', n: 1 });
    late.tell(late.refFor<Message>('b', '/user/sink'), { type: 'note', n: 2 });
    await sim.run(50);
    assert.equal(sim.trace.count('drop', 'unreachable'), 2, 'no connection can be made to an isolated node');
    await sim.run(500);
    assert.deepEqual(atB, []);
    sim.network.heal();
    a.tell(a.refFor<Message>('b', '/user/sink'), { type: 'note', n: 3 });
    await sim.run(100);
    assert.deepEqual(atB, [{ type: 'note', n: 3 }]);
  });
  t.pass();
});

test('seeded weather: drawLinkFaults is a function of the seed, within its limits; bad mixes are refused', (t) => {
  const first = drawLinkFaults(new Prng(5));
  t.deepEqual(drawLinkFaults(new Prng(5)), first);
  t.notDeepEqual(drawLinkFaults(new Prng(6)), first);
  for (let seed = 0; seed < 200; seed++) {
    const faults = drawLinkFaults(new Prng(seed));
    t.true(faults.dropChance <= FAULT_LIMITS_DEFAULT.dropChanceMax && faults.delayMaxMs <= FAULT_LIMITS_DEFAULT.delayMaxMs && faults.delayMinMs <= faults.delayMaxMs);
  }
  t.throws(() => validateFaults({ ...NO_FAULTS, dropChance: 1.5 }), { message: /dropChance/ });
  t.throws(() => validateFaults({ ...NO_FAULTS, delayMinMs: 5, delayMaxMs: 2 }), { message: /delayMinMs/ });
  t.throws(() => new SimWorld({ seed: 1, faults: { ...NO_FAULTS, delayMaxMs: 0.5 } }), { message: /delayMaxMs/ });
});

// ---- (4) crash and restart ----

test('a crashed process: its watcher elsewhere gets Terminated unreachable within the heartbeat bound', async (t) => {
  await seeded(t, 41, async (seed) => {
    const sim = world(seed, { ...NO_FAULTS, delayMinMs: 1, delayMaxMs: 5 });
    const signals: Signal[] = [];
    const received: Message[] = [];
    sim.start('a', (system) => {
      system.spawn(watcher(() => system.refFor('b', '/user/sink'), signals), { name: 'watcher' });
    });
    sim.start('b', (system) => {
      system.spawn(recorder(received), { name: 'sink' });
    });
    await sim.run(1_000);
    assert.equal(signals.length, 0, 'heartbeats keep the watch quiet while b runs');
    const before = sim.process('b');
    sim.crash('b');
    const crashedAtMs = sim.now();
    assert.ok(await sim.runUntil(() => signals.length > 0, 5_000), 'no Terminated after the crash');
    const elapsedMs = sim.now() - crashedAtMs;
    // Silent for more than the timeout, noticed at the next heartbeat tick.
    assert.ok(elapsedMs <= HEARTBEAT.heartbeatTimeoutMs + HEARTBEAT.heartbeatIntervalMs + 5, `took ${elapsedMs} ms`);
    assert.equal(signals[0]?.reason, 'unreachable');
    assert.throws(() => sim.system('b'), /not running/);

    const after = sim.restart('b');
    assert.notEqual(after.incarnation, before.incarnation);
    assert.equal(after.generation, 2);
    await sim.run(50);
    const a = sim.system('a');
    const oldSink: ActorRef<Message> = { node: 'b', incarnation: before.incarnation, path: '/user/sink' };
    const deadBefore = a.deadLetters.count + after.system.deadLetters.count;
    a.tell(oldSink, { type: 'note', n: 'to the old incarnation' });
    a.tell(a.refFor<Message>('b', '/user/sink'), { type: 'note', n: 'by name' });
    await sim.run(50);
    assert.deepEqual(received, [{ type: 'note', n: 'by name' }], 'a ref to the old incarnation never reaches the new one');
    assert.equal(a.deadLetters.count + after.system.deadLetters.count, deadBefore + 1);
  });
  t.pass();
});

test('a process restarted before the failure detector fires: watchers get Terminated stopped', async (t) => {
  await seeded(t, 42, async (seed) => {
    const sim = world(seed);
    const signals: Signal[] = [];
    sim.start('a', (system) => {
      system.spawn(watcher(() => system.refFor('b', '/user/sink'), signals), { name: 'watcher' });
    });
    sim.start('b', (system) => {
      system.spawn(recorder([]), { name: 'sink' });
    });
    await sim.run(300);
    sim.restart('b');
    const restartedAtMs = sim.now();
    assert.ok(await sim.runUntil(() => signals.length > 0, 2_000));
    assert.ok(sim.now() - restartedAtMs < HEARTBEAT.heartbeatTimeoutMs, 'the new incarnation was noticed before the timeout');
    assert.equal(signals[0]?.reason, 'stopped');
    assert.equal(sim.trace.count('crash'), 1);
    assert.equal(sim.trace.count('restart'), 1);
  });
  t.pass();
});

test('an orderly shutdown tells remote watchers "stopped"; a root failure crashes the process', async (t) => {
  await seeded(t, 43, async (seed) => {
    const sim = world(seed, NO_FAULTS, { systemOptions: { ...HEARTBEAT, guardianSupervision: { strategy: 'one-for-one', maxRestarts: 0, withinMs: 1_000, backoffMinMs: 1, backoffMaxMs: 1 } } });
    const signals: Signal[] = [];
    sim.start('a', (system) => {
      system.spawn(watcher(() => system.refFor('b', '/user/sink'), signals), { name: 'watcher' });
    });
    sim.start('b', (system) => {
      system.spawn(recorder([]), { name: 'sink' });
    });
    await sim.run(300);
    await sim.shutdown('b');
    assert.ok(await sim.runUntil(() => signals.length > 0, 100), 'the Terminated notice sent before the close arrived');
    assert.equal(signals[0]?.reason, 'stopped');
    assert.equal(sim.process('b').alive, false);

    const failing: Behavior<Message, void> = {
      start: () => undefined,
      receive: () => {
        throw new Error('boom');
      },
    };
    sim.start('c', (system) => {
      system.spawn(failing, { name: 'failing' });
    });
    const c = sim.system('c');
    c.tell(c.refFor<Message>('c', '/user/failing'), { type: 'note' });
    assert.ok(await sim.runUntil(() => !sim.process('c').alive, 1_000), 'the escalation past /user crashed the process');
    assert.equal(sim.trace.count('root-failure'), 1);
    assert.equal(sim.trace.count('crash'), 1);
  });
  t.pass();
});

// ---- (5) fault rates ----

test('drops, duplicates and hold-backs happen at the configured rates, and the runtime survives them', async (t) => {
  await seeded(t, 51, async (seed) => {
    const faults: LinkFaults = { dropChance: 0.1, duplicateChance: 0.05, reorderChance: 0.1, delayMinMs: 1, delayMaxMs: 10, reorderDelayMaxMs: 25 };
    const sim = world(seed, faults);
    const received: Message[] = [];
    sim.start('a');
    sim.start('b', (system) => {
      system.spawn(recorder(received), { name: 'sink' });
      system.spawn(ponger, { name: 'ponger' });
    });
    const a = sim.system('a');
    const sink = a.refFor<Message>('b', '/user/sink');
    const total = 3_000;
    for (let n = 1; n <= total; n++) {
      a.tell(sink, { type: 'note', n });
      if (n % 30 === 0) await sim.run(10);
    }
    await sim.run(200);
    const sent = sim.trace.count('send');
    const dropped = sim.trace.count('drop', 'fault');
    const passed = sent - dropped;
    const near = (observed: number, expected: number, tolerance: number, what: string): void =>
      assert.ok(Math.abs(observed - expected) <= tolerance, `${what}: observed ${observed.toFixed(4)}, expected ${expected} ± ${tolerance}`);
    assert.ok(sent >= total, `sent ${sent}`);
    near(dropped / sent, faults.dropChance, 0.02, 'drop rate');
    near(sim.trace.count('duplicate') / passed, faults.duplicateChance, 0.015, 'duplicate rate');
    near(sim.trace.count('hold') / passed, faults.reorderChance, 0.02, 'hold-back rate');
    assert.ok(sim.trace.count('deliver', 'out-of-order') > 50, 'held-back frames were overtaken');
    // What the actor saw: some lost, some twice, not all in order.
    const numbers = received.map((message) => message['n'] as number);
    const distinct = new Set(numbers).size;
    near(distinct / total, 1 - faults.dropChance, 0.03, 'share delivered');
    assert.ok(numbers.length > distinct, 'duplicates reached the actor');
    assert.ok(numbers.some((n, i) => i > 0 && n < (numbers[i - 1] as number)), 'reordering reached the actor');
    // The runtime is intact: with the weather cleared, an ask round trip works.
    sim.network.setFaults(NO_FAULTS);
    const reply = await sim.settle(a.ask<Message, Message>(a.refFor('b', '/user/ponger'), (replyTo) => ({ type: 'ping', n: 1, replyTo }), 1_000), 1_000);
    assert.deepEqual(reply, { type: 'pong', n: 1 });
    assert.equal(a.metrics.framesRejected + sim.system('b').metrics.framesRejected, 0);
  });
  t.pass();
});

// ---- (6) a failing seeded body names its seed ----

test('a failing assertion inside a seeded body names the seed', async (t) => {
  const error = await t.throwsAsync(
    runSeeded(7_777, async (seed) => {
      const sim = world(seed);
      sim.start('a');
      await sim.run(10);
      assert.equal(sim.now(), 11, 'virtual time');
    }),
    { instanceOf: SeededFailure },
  );
  t.regex(error.message, /^seed=7777 failed \(replay with KPLANE_SEED=7777\): AssertionError/);
  t.is(error.seed, 7_777);
  t.true(error.cause instanceof assert.AssertionError);
  t.deepEqual(seedsToRun([1, 2], undefined), [1, 2]);
  t.deepEqual(seedsToRun([1, 2], '5,9..11'), [5, 9, 10, 11]);
  t.throws(() => seedsToRun([1], 'x'), { message: /KPLANE_SEED: not a seed/ });
});

test('settle gives up after its virtual time with the seed in the message', async (t) => {
  const sim = world(61);
  await t.throwsAsync(sim.settle(new Promise(() => undefined), 100), { message: /after 100 virtual ms \(seed=61\)/ });
  t.is(sim.now(), 100);
});
