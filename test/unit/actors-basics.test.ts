// The actor runtime on one system: ordering, one-at-a-time async handlers, ask, mailbox bounds and
// dead letters, local death watch, timers, errors on the wire, and the logger.
import test from 'ava';
import { Writable } from 'node:stream';
import type { Behavior, Signal } from '../../src/actors/behavior.js';
import {
  ActorStoppedError,
  AskTimeoutError,
  fromWireError,
  MailboxFullError,
  RemoteError,
  toWireError,
} from '../../src/actors/errors.js';
import { createLogger } from '../../src/actors/logger.js';
import type { ActorRef } from '../../src/actors/ref.js';
import { VirtualClock } from '../../src/testing/virtual-clock.js';
import { makeSystem, recorder, type TestMessage } from './actors-helpers.js';

test('messages are processed in order, one at a time, async handlers awaited', async (t) => {
  const { clock, system } = makeSystem();
  const log: string[] = [];
  let active = 0;
  let maxActive = 0;
  const slow: Behavior<TestMessage, void> = {
    start: () => undefined,
    receive: async (ctx, _state, message) => {
      active++;
      maxActive = Math.max(maxActive, active);
      log.push(`begin ${message.type}`);
      await new Promise<void>((resolve) => ctx.clock.setTimer(10, resolve));
      log.push(`end ${message.type}`);
      active--;
    },
  };
  const ref = system.spawn(slow, { name: 'slow' });
  for (const type of ['a', 'b', 'c']) system.tell(ref, { type });
  await clock.advance(100);
  t.deepEqual(log, ['begin a', 'end a', 'begin b', 'end b', 'begin c', 'end c']);
  t.is(maxActive, 1);
  t.is(system.metrics.delivered, 3);
});

test('many sync messages are all delivered in FIFO order across dispatcher batches', async (t) => {
  const { clock, system } = makeSystem({ dispatchBatch: 8 });
  const received: Array<TestMessage | Signal> = [];
  const ref = system.spawn(recorder(received), { name: 'r' });
  for (let seq = 0; seq < 100; seq++) system.tell(ref, { type: 'n', seq });
  await clock.advance(0);
  t.deepEqual(
    received.map((message) => (message as TestMessage)['seq']),
    Array.from({ length: 100 }, (_, seq) => seq),
  );
});

const echo: Behavior<{ type: 'echo'; text: string; replyTo: ActorRef<TestMessage> } | TestMessage, void> = {
  start: () => undefined,
  receive: (ctx, _state, message) => {
    if (message.type === 'echo' && 'replyTo' in message) ctx.tell(message.replyTo as ActorRef<TestMessage>, { type: 'echoed', text: message['text'] });
  },
};

test('ask gets the reply through a /temp ref', async (t) => {
  const { clock, system } = makeSystem();
  const ref = system.spawn(echo, { name: 'echo' });
  const reply = system.ask<TestMessage, TestMessage>(ref, (replyTo) => ({ type: 'echo', text: 'hi', replyTo }), 1_000);
  await clock.advance(1);
  t.deepEqual(await reply, { type: 'echoed', text: 'hi' });
});

test('ask without a reply times out with a retryable ASK_TIMEOUT; a late reply is a dead letter', async (t) => {
  const { clock, system } = makeSystem();
  let replyTo: ActorRef | undefined;
  const silent: Behavior<TestMessage, void> = {
    start: () => undefined,
    receive: (_ctx, _state, message) => {
      replyTo = (message as TestMessage)['replyTo'] as ActorRef;
    },
  };
  const ref = system.spawn(silent, { name: 'silent' });
  const reply = system.ask<TestMessage, TestMessage>(ref, (to) => ({ type: 'q', replyTo: to }), 500);
  let settled = false;
  reply.catch(() => undefined).finally(() => (settled = true));
  await clock.advance(499);
  t.false(settled);
  await clock.advance(1);
  const error = await t.throwsAsync(reply, { instanceOf: AskTimeoutError });
  t.is(error?.code, 'ASK_TIMEOUT');
  t.true(error?.retryable);
  t.regex(replyTo?.path ?? '', /^\/temp\//);
  system.tell(replyTo as ActorRef<TestMessage>, { type: 'late' });
  t.is(system.deadLetters.count, 1);
  t.is(system.metrics.askTimeouts, 1);
});

test('ask to a missing actor rejects with ActorStoppedError; ask needs a timeout', async (t) => {
  const { system } = makeSystem();
  await t.throwsAsync(system.ask(system.refFor('local', '/user/nobody'), () => ({ type: 'q' }), 100), { instanceOf: ActorStoppedError });
  await t.throwsAsync(system.ask(system.refFor('local', '/user/nobody'), () => ({ type: 'q' }), 0), { code: 'ACTOR_CONFIG' });
});

test('a full mailbox sends new messages to dead letters and an ask rejects with MailboxFullError', async (t) => {
  const { clock, system } = makeSystem();
  const received: Array<TestMessage | Signal> = [];
  const ref = system.spawn(recorder(received), { name: 'small', mailboxCapacity: 3 });
  await clock.advance(0); // started
  for (let seq = 0; seq < 5; seq++) system.tell(ref, { type: 'n', seq });
  t.is(system.deadLetters.count, 2);
  await t.throwsAsync(system.ask(ref, () => ({ type: 'q' }), 100), { instanceOf: MailboxFullError });
  t.is(system.deadLetters.count, 3);
  await clock.advance(0);
  t.deepEqual(
    received.map((message) => (message as TestMessage)['seq']),
    [0, 1, 2],
  );
});

test('local death watch: stop => stopped; failure of a temporary actor => failed; dead target => at once', async (t) => {
  const { clock, system } = makeSystem();
  const received: Array<TestMessage | Signal> = [];
  const crashy: Behavior<TestMessage, void> = {
    start: () => undefined,
    receive: () => {
      throw new Error('boom');
    },
  };
  const quiet = system.spawn(recorder([]), { name: 'quiet' });
  const fragile = system.spawn(crashy, { name: 'fragile', restart: 'temporary' });
  const watcher: Behavior<TestMessage, void> = {
    start: (ctx) => {
      ctx.watch(quiet);
      ctx.watch(fragile);
    },
    receive: (_ctx, _state, message) => {
      received.push(message);
    },
  };
  system.spawn(watcher, { name: 'watcher' });
  await clock.advance(0);
  await system.stop(quiet);
  system.tell(fragile, { type: 'crash' });
  await clock.advance(100);
  t.deepEqual(received, [
    { type: 'kplane.terminated', ref: quiet, reason: 'stopped' },
    { type: 'kplane.terminated', ref: fragile, reason: 'failed' },
  ]);

  const late: Array<TestMessage | Signal> = [];
  const lateWatcher: Behavior<TestMessage, void> = {
      start: (ctx) => ctx.watch(quiet),
      receive: (_ctx, _state, message) => {
        late.push(message);
      },
    };
  system.spawn(lateWatcher, { name: 'late-watcher' });
  await clock.advance(0);
  t.deepEqual(late, [{ type: 'kplane.terminated', ref: quiet, reason: 'stopped' }]);
});

test('unwatch prevents the Terminated signal', async (t) => {
  const { clock, system } = makeSystem();
  const received: Array<TestMessage | Signal> = [];
  const target = system.spawn(recorder([]), { name: 'target' });
  const watcher: Behavior<TestMessage, void> = {
    start: (ctx) => {
      ctx.watch(target);
      ctx.unwatch(target);
    },
    receive: (_ctx, _state, message) => {
      received.push(message);
    },
  };
  system.spawn(watcher, { name: 'watcher' });
  await clock.advance(0);
  await system.stop(target);
  await clock.advance(0);
  t.deepEqual(received, []);
});

test('timers: a repeating timer fires on the clock and cancelTimer stops it; timers die with the actor', async (t) => {
  const { clock, system } = makeSystem();
  const ticks: number[] = [];
  const ticker: Behavior<TestMessage, void> = {
    start: (ctx) => ctx.setTimer('tick', 100, { type: 'tick' }, { repeat: true }),
    receive: (ctx, _state, message) => {
      if (message.type === 'tick') ticks.push(ctx.clock.now());
      if (ticks.length === 3) ctx.cancelTimer('tick');
    },
  };
  system.spawn(ticker, { name: 'ticker' });
  await clock.advance(1_000);
  t.deepEqual(ticks, [100, 200, 300]);
  const again = system.spawn({ ...ticker, receive: () => undefined }, { name: 'other' });
  await clock.advance(0);
  await system.stop(again);
  t.is(clock.pendingTimers(), 0);
});

test('terminate stops everything and rejects pending asks', async (t) => {
  const { clock, system } = makeSystem();
  const ref = system.spawn(recorder([]), { name: 'sink' });
  const pending = system.ask(ref, () => ({ type: 'q' }), 10_000);
  await clock.advance(0);
  await system.terminate();
  await t.throwsAsync(pending, { instanceOf: ActorStoppedError });
  t.throws(() => system.spawn(recorder([]), { name: 'late' }), { instanceOf: ActorStoppedError });
});

test('spawn refuses duplicate and invalid names', (t) => {
  const { system } = makeSystem();
  system.spawn(recorder([]), { name: 'a' });
  t.throws(() => system.spawn(recorder([]), { name: 'a' }), { message: /already has a child named a/ });
  t.throws(() => system.spawn(recorder([]), { name: 'a/b' }), { message: /invalid actor name/ });
});

test('errors convert to and from the wire form', (t) => {
  const wire = toWireError(new AskTimeoutError('late'));
  t.deepEqual(wire, { code: 'ASK_TIMEOUT', message: 'late', retryable: true });
  const back = fromWireError(wire);
  t.true(back instanceof AskTimeoutError);
  t.is(back.message, 'late');
  t.deepEqual(toWireError(new Error('x')), { code: 'INTERNAL', message: 'x', retryable: false });
  const unknown = fromWireError({ code: 'OTHER', message: 'm', retryable: true });
  t.true(unknown instanceof RemoteError);
  t.is(unknown.code, 'OTHER');
  t.is(fromWireError('garbage').code, 'INVALID_ERROR');
  t.is(fromWireError({ code: '__proto__', message: 'm', retryable: false }).code, '__proto__');
});

test('the logger carries the node, takes time from the clock, and redacts secrets', (t) => {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  const clock = new VirtualClock(12_345);
  const log = createLogger({ node: 'n1', level: 'info', destination, clock });
  log.info({ secret: 's3cret', nested: { token: 't0ken' }, authorization: 'Bearer x' }, 'hello');
  t.is(lines.length, 1);
  const line = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
  t.is(line['node'], 'n1');
  t.is(line['time'], 12_345);
  t.is(line['msg'], 'hello');
  t.is(line['secret'], '[redacted]');
  t.is(line['authorization'], '[redacted]');
  t.deepEqual(line['nested'], { token: '[redacted]' });
  t.false(lines[0]?.includes('s3cret'));
});

test('lifecycle is logged with actor path, message type and err', async (t) => {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const clock = new VirtualClock();
  const { system } = makeSystem({}, { log: createLogger({ node: 'local', level: 'info', destination, clock }) }, clock);
  const crashy: Behavior<TestMessage, void> = {
    start: () => undefined,
    receive: () => {
      throw new Error('kaput');
    },
  };
  const ref = system.spawn(crashy, { name: 'crashy' });
  system.tell(ref, { type: 'poison' });
  await clock.advance(1_000);
  await system.stop(ref);
  const failed = lines.find((line) => line['msg'] === 'actor failed');
  t.like(failed, { node: 'local', actor: '/user/crashy', messageType: 'poison', level: 50 });
  t.like(failed?.['err'], { message: 'kaput' });
  t.truthy(lines.find((line) => line['msg'] === 'actor restarted' && line['actor'] === '/user/crashy'));
  t.truthy(lines.find((line) => line['msg'] === 'actor stopped' && line['actor'] === '/user/crashy'));
});
