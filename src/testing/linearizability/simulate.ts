// A seeded simulation of clients using a correct (sequential) key-value register, recording the
// history the checker reads. Each operation takes effect at one moment inside its interval, so every
// history it produces is linearizable by construction: the checker's tests use it to generate good
// histories (and mutate them into bad ones), and the timing test uses it for large ones.
//
// Time advances in ticks. Per tick each client may call, take effect, or return; some operations
// lose their answer (the client gives up and carries on under a new client id, as a store client
// does after a timeout); an unanswered operation may still take effect later, or never.

import type { Random } from '../../actors/random.js';
import type { History, Operation, OperationInput, OperationOutput } from './history.js';

export interface RegisterSimulationOptions {
  /** Concurrent clients (each with at most one operation in flight). */
  readonly clients: number;
  readonly keys: number;
  /** Operations to invoke in total. */
  readonly operations: number;
  /** Writes pick from this many values per key (small pools repeat values); 0: every write is unique. */
  readonly valuesPerKey: number;
  /** Chance that an operation ends without an answer. */
  readonly noAnswerChance: number;
  readonly tickMs: number;
}

interface InFlight {
  clientId: number;
  readonly input: OperationInput;
  readonly invokedAtMs: number;
  output: OperationOutput | undefined;
  /** Index in the recorded history. */
  readonly slot: number;
}

/** Chance per tick that an idle client calls, an in-flight operation takes effect, or an applied one returns. */
const callChance = 0.6;
const applyChance = 0.5;
const returnChance = 0.5;
/** Chance per tick that an unanswered operation takes effect, or is abandoned (never takes effect). */
const lateApplyChance = 0.2;
const abandonChance = 0.1;

export function simulateRegisterHistory(random: Random, options: RegisterSimulationOptions): History {
  const keys = Array.from({ length: Math.max(1, options.keys) }, (_, index) => `key-${index}`);
  const register = new Map<string, string | null>();
  const recorded: Operation[] = [];
  const clients: (InFlight | undefined)[] = Array.from({ length: options.clients }, () => undefined);
  const clientIds = Array.from({ length: options.clients }, (_, index) => index);
  let nextClientId = options.clients;
  let unanswered: InFlight[] = [];
  let invoked = 0;
  let uniqueValue = 0;

  const pickValue = (key: string): string =>
    options.valuesPerKey > 0 ? `v${random.int(options.valuesPerKey)}` : `${key}-u${uniqueValue++}`;
  const newInput = (): OperationInput => {
    const key = random.pick(keys);
    const roll = random.next();
    if (roll < 0.35) return { kind: 'get', key };
    if (roll < 0.65) return { kind: 'put', key, value: pickValue(key) };
    if (roll < 0.75) return { kind: 'delete', key };
    const expected = random.chance(0.5)
      ? (register.get(key) ?? null)
      : random.chance(0.2)
        ? null
        : pickValue(key);
    return { kind: 'cas', key, expected, value: pickValue(key) };
  };
  const apply = (input: OperationInput): OperationOutput => {
    const current = register.get(input.key) ?? null;
    switch (input.kind) {
      case 'get':
        return { kind: 'get', value: current };
      case 'put':
        register.set(input.key, input.value);
        return { kind: 'put' };
      case 'delete':
        register.set(input.key, null);
        return { kind: 'delete' };
      case 'cas': {
        const ok = current === input.expected;
        if (ok) register.set(input.key, input.value);
        return { kind: 'cas', ok };
      }
    }
  };
  const loseAnswer = (client: number, operation: InFlight): void => {
    unanswered.push(operation);
    clients[client] = undefined;
    clientIds[client] = nextClientId++;
  };

  for (let tick = 0; ; tick++) {
    const nowMs = tick * options.tickMs;
    const order = clients.map((_, index) => index);
    for (let index = order.length - 1; index > 0; index--) {
      const other = random.int(index + 1);
      const swap = order[index] ?? 0;
      order[index] = order[other] ?? 0;
      order[other] = swap;
    }
    for (const client of order) {
      const operation = clients[client];
      if (operation === undefined) {
        if (invoked < options.operations && random.chance(callChance)) {
          invoked++;
          const input = newInput();
          const clientId = clientIds[client] ?? client;
          clients[client] = { clientId, input, invokedAtMs: nowMs, output: undefined, slot: recorded.length };
          recorded.push({ clientId, input, invokedAtMs: nowMs });
        }
      } else if (operation.output === undefined) {
        if (random.chance(options.noAnswerChance)) loseAnswer(client, operation);
        else if (random.chance(applyChance)) operation.output = apply(operation.input);
      } else if (random.chance(returnChance)) {
        if (random.chance(options.noAnswerChance)) {
          // Took effect, but the answer was lost: recorded as unanswered, nothing more to happen.
          clients[client] = undefined;
          clientIds[client] = nextClientId++;
        } else {
          recorded[operation.slot] = {
            clientId: operation.clientId,
            input: operation.input,
            invokedAtMs: operation.invokedAtMs,
            returnedAtMs: nowMs,
            output: operation.output,
          };
          clients[client] = undefined;
        }
      }
    }
    unanswered = unanswered.filter((operation) => {
      if (random.chance(lateApplyChance)) {
        apply(operation.input);
        return false;
      }
      return !random.chance(abandonChance);
    });
    if (invoked >= options.operations && clients.every((client) => client === undefined) && unanswered.length === 0) {
      return recorded;
    }
  }
}
