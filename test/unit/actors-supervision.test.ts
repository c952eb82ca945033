// Supervision as in Erlang/OTP: strategies, restart types, restart intensity and escalation (also
// past the root), exponential backoff, ordered start and reverse stop, stop timeouts, and failures
// from rejected promises. Everything runs on a VirtualClock.
import test from 'ava';
import type { Behavior, RestartType, Signal, SupervisionPolicy } from '../../src/actors/behavior.js';
import { RestartIntensityError } from '../../src/actors/errors.js';
import type { ActorRef } from '../../src/actors/ref.js';
import { childSpec, supervisor } from '../../src/actors/supervisor.js';
import { makeSystem, type TestMessage } from './actors-helpers.js';

const FAST: SupervisionPolicy = { strategy: 'one-for-one', maxRestarts: 10, withinMs: 10_000, backoffMinMs: 10, backoffMaxMs: 100 };

/** A child that logs its lifecycle, fails on 'boom' (sync) or 'reject' (async), and exits on 'exit'. */
function probe(name: string, events: string[]): Behavior<TestMessage, void> {
  return {
    start: () => {
      events.push(`start ${name}`);
    },
    receive: async (ctx, _state, message) => {
      if (message.type === 'boom') throw new Error(`${name} boom`);
      if (message.type === 'reject') return Promise.reject(new Error(`${name} rejected`));
      if (message.type === 'exit') {
        await ctx.stop(ctx.self);
        return;
      }
      if (message.type !== 'kplane.terminated') events.push(`got ${name} ${message.type}`);
    },
    stop: () => {
      events.push(`stop ${name}`);
    },
  };
}

async function tree(strategy: SupervisionPolicy['strategy']): Promise<{ run: ReturnType<typeof makeSystem>; events: string[]; child: (name: string) => ActorRef<TestMessage> }> {
  const run = makeSystem();
  const events: string[] = [];
  run.system.spawn(supervisor({ children: ['a', 'b', 'c'].map((name) => childSpec(probe(name, events), { name })) }), {
    name: 'sup',
    supervision: { ...FAST, strategy },
  });
  await run.clock.advance(0);
  events.length = 0;
  return { run, events, child: (name) => run.system.refFor<TestMessage>('local', `/user/sup/${name}`) };
}

test('one-for-one restarts only the failed child', async (t) => {
  const { run, events, child } = await tree('one-for-one');
  run.system.tell(child('b'), { type: 'boom' });
  await run.clock.advance(1_000);
  t.deepEqual(events, ['stop b', 'start b']);
  t.is(run.system.metrics.restarts, 1);
});

test('one-for-all restarts all children: stopped in reverse order, started in order', async (t) => {
  const { run, events, child } = await tree('one-for-all');
  run.system.tell(child('b'), { type: 'boom' });
  await run.clock.advance(1_000);
  t.deepEqual(events, ['stop c', 'stop b', 'stop a', 'start a', 'start b', 'start c']);
});

test('rest-for-one restarts the failed child and those started after it', async (t) => {
  const { run, events, child } = await tree('rest-for-one');
  run.system.tell(child('b'), { type: 'boom' });
  await run.clock.advance(1_000);
  t.deepEqual(events, ['stop c', 'stop b', 'start b', 'start c']);
});

test('a rejected promise in a handler is a failure like a throw; the failing message is dropped, later ones kept', async (t) => {
  const { run, events, child } = await tree('one-for-one');
  run.system.tell(child('a'), { type: 'reject' });
  run.system.tell(child('a'), { type: 'after-1' });
  run.system.tell(child('a'), { type: 'after-2' });
  await run.clock.advance(1_000);
  t.deepEqual(events, ['stop a', 'start a', 'got a after-1', 'got a after-2']);
  t.is(run.system.metrics.failures, 1);
  t.deepEqual(run.rootFailures, []);
});

async function restartTypeCase(restart: RestartType, trigger: 'boom' | 'exit'): Promise<{ events: string[]; signals: Signal[] }> {
  const { clock, system } = makeSystem({ guardianSupervision: FAST });
  const events: string[] = [];
  const signals: Signal[] = [];
  const ref = system.spawn(probe('x', events), { name: 'x', restart });
  const watcher: Behavior<TestMessage, void> = {
    start: (ctx) => ctx.watch(ref),
    receive: (_ctx, _state, message) => {
      if (message.type === 'kplane.terminated') signals.push(message as Signal);
    },
  };
  system.spawn(watcher, { name: 'watcher' });
  await clock.advance(0);
  system.tell(ref, { type: trigger });
  await clock.advance(1_000);
  return { events, signals };
}

test('restart types: permanent comes back after a failure and after a normal exit', async (t) => {
  for (const trigger of ['boom', 'exit'] as const) {
    const { events, signals } = await restartTypeCase('permanent', trigger);
    t.deepEqual(events, ['start x', 'stop x', 'start x'], trigger);
    t.deepEqual(signals, [], trigger);
  }
});

test('restart types: transient comes back after a failure only', async (t) => {
  const failed = await restartTypeCase('transient', 'boom');
  t.deepEqual(failed.events, ['start x', 'stop x', 'start x']);
  const exited = await restartTypeCase('transient', 'exit');
  t.deepEqual(exited.events, ['start x', 'stop x']);
  t.like(exited.signals, [{ reason: 'stopped', ref: { path: '/user/x' } }]);
});

test('restart types: temporary never comes back; a failure is reported to watchers as failed', async (t) => {
  const failed = await restartTypeCase('temporary', 'boom');
  t.deepEqual(failed.events, ['start x', 'stop x']);
  t.like(failed.signals, [{ reason: 'failed' }]);
  const exited = await restartTypeCase('temporary', 'exit');
  t.like(exited.signals, [{ reason: 'stopped' }]);
});

test('restart intensity exceeded: the supervisor fails and its parent restarts it (escalation)', async (t) => {
  const { clock, system, rootFailures } = makeSystem({ guardianSupervision: FAST });
  const events: string[] = [];
  const middle = supervisor({ children: [childSpec(probe('leaf', events), { name: 'leaf' })] });
  const countingMiddle: Behavior<never, void> = {
    ...middle,
    start: (ctx) => {
      events.push('start mid');
      return middle.start(ctx);
    },
  };
  system.spawn(countingMiddle, { name: 'mid', supervision: { ...FAST, maxRestarts: 2, withinMs: 5_000 } });
  await clock.advance(0);
  const leaf = system.refFor<TestMessage>('local', '/user/mid/leaf');
  for (let i = 0; i < 3; i++) {
    system.tell(leaf, { type: 'boom' });
    await clock.advance(500);
  }
  // Two restarts of the leaf are allowed; the third failure makes mid fail, and the guardian restarts mid.
  t.deepEqual(events, ['start mid', 'start leaf', 'stop leaf', 'start leaf', 'stop leaf', 'start leaf', 'stop leaf', 'start mid', 'start leaf']);
  t.deepEqual(rootFailures, []);
  // The intensity window is sliding: after it passes, failures are restarts again.
  await clock.advance(10_000);
  events.length = 0;
  system.tell(leaf, { type: 'boom' });
  await clock.advance(500);
  t.deepEqual(events, ['stop leaf', 'start leaf']);
});

test('escalation past the root guardian calls onRootFailure (instead of exiting)', async (t) => {
  const { clock, system, rootFailures } = makeSystem({ guardianSupervision: { ...FAST, maxRestarts: 1 } });
  const events: string[] = [];
  const ref = system.spawn(probe('top', events), { name: 'top' });
  await clock.advance(0);
  system.tell(ref, { type: 'boom' });
  await clock.advance(500);
  t.deepEqual(rootFailures, []);
  system.tell(ref, { type: 'boom' });
  await clock.advance(500);
  t.is(rootFailures.length, 1);
  t.true(rootFailures[0] instanceof RestartIntensityError);
});

test('restart backoff grows exponentially up to backoffMaxMs', async (t) => {
  const { clock, system } = makeSystem({ guardianSupervision: { strategy: 'one-for-one', maxRestarts: 100, withinMs: 1_000_000, backoffMinMs: 100, backoffMaxMs: 1_000 } });
  const startedAt: number[] = [];
  const neverStarts: Behavior<TestMessage, void> = {
    start: (ctx) => {
      startedAt.push(ctx.clock.now());
      throw new Error('cannot start');
    },
    receive: () => undefined,
  };
  system.spawn(neverStarts, { name: 'flaky' });
  await clock.advance(5_000);
  const delays = startedAt.slice(1).map((at, index) => at - (startedAt[index] as number));
  t.deepEqual(delays.slice(0, 6), [100, 200, 400, 800, 1_000, 1_000]);
});

test('supervisor children start in order (each start awaited) and stop in reverse order', async (t) => {
  const { clock, system } = makeSystem();
  const events: string[] = [];
  const slowStart = (name: string, delayMs: number): Behavior<TestMessage, void> => ({
    start: async (ctx) => {
      events.push(`begin ${name}`);
      await new Promise<void>((resolve) => ctx.clock.setTimer(delayMs, resolve));
      events.push(`ready ${name}`);
    },
    receive: () => undefined,
    stop: () => {
      events.push(`stop ${name}`);
    },
  });
  system.spawn(
    supervisor({ children: [childSpec(slowStart('a', 300), { name: 'a' }), childSpec(slowStart('b', 100), { name: 'b' }), childSpec(slowStart('c', 200), { name: 'c' })] }),
    { name: 'sup' },
  );
  await clock.advance(1_000);
  t.deepEqual(events, ['begin a', 'ready a', 'begin b', 'ready b', 'begin c', 'ready c']);
  events.length = 0;
  await system.terminate();
  t.deepEqual(events, ['stop c', 'stop b', 'stop a']);
});

test('a stop hook that hangs longer than stopTimeoutMs is abandoned', async (t) => {
  const { clock, system } = makeSystem();
  const events: string[] = [];
  const hangs: Behavior<TestMessage, void> = {
    start: () => undefined,
    receive: () => undefined,
    stop: () => new Promise<void>(() => events.push('hanging')),
  };
  const after: Behavior<TestMessage, void> = { start: () => undefined, receive: () => undefined, stop: () => void events.push('stop first') };
  system.spawn(hangs, { name: 'hangs', stopTimeoutMs: 500 });
  system.spawn(after, { name: 'first' });
  await clock.advance(0);
  let done = false;
  const terminated = system.terminate().then(() => (done = true));
  await clock.advance(499);
  t.deepEqual(events, ['stop first', 'hanging']);
  t.false(done);
  await clock.advance(1);
  await terminated;
  t.true(done);
});

test('messages sent while an actor waits for its restart stay in its mailbox', async (t) => {
  const { clock, system } = makeSystem({ guardianSupervision: { ...FAST, backoffMinMs: 1_000, backoffMaxMs: 1_000 } });
  const events: string[] = [];
  const ref = system.spawn(probe('p', events), { name: 'p' });
  await clock.advance(0);
  system.tell(ref, { type: 'boom' });
  await clock.advance(10);
  system.tell(ref, { type: 'one' });
  system.tell(ref, { type: 'two' });
  await clock.advance(500);
  t.deepEqual(events, ['start p', 'stop p']);
  await clock.advance(1_000);
  t.deepEqual(events, ['start p', 'stop p', 'start p', 'got p one', 'got p two']);
  t.is(system.deadLetters.count, 0);
});

test('a failing child is restarted with the dynamic children its start spawns; old subtree stopped first', async (t) => {
  const { clock, system } = makeSystem({ guardianSupervision: FAST });
  const events: string[] = [];
  const parent: Behavior<TestMessage, void> = {
    start: (ctx) => {
      events.push('start parent');
      ctx.spawn(probe('kid', events), { name: 'kid' });
    },
    receive: (_ctx, _state, message) => {
      if (message.type === 'boom') throw new Error('parent boom');
    },
    stop: () => void events.push('stop parent'),
  };
  const ref = system.spawn(parent, { name: 'parent' });
  await clock.advance(0);
  system.tell(ref, { type: 'boom' });
  await clock.advance(1_000);
  t.deepEqual(events, ['start parent', 'start kid', 'stop kid', 'stop parent', 'start parent', 'start kid']);
});
