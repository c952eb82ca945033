// Shared helpers for the store state machine tests: command builders and a tiny applier that keeps
// the log index and the command clock.

import type { ApplyResult, Command, CommandBody, ClientSession, RangeRequest } from '../../src/store/index.js';
import { StateMachine } from '../../src/store/index.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const bytes = (text: string): Uint8Array => encoder.encode(text);
export const text = (value: Uint8Array): string => decoder.decode(value);

/** A state machine with its own log index and command clock (ms). */
export class Driver {
  readonly machine: StateMachine;
  index = 0;
  nowMs = 1_000_000;
  constructor(machine = new StateMachine()) {
    this.machine = machine;
  }
  run(body: CommandBody, session?: ClientSession): ApplyResult {
    const command: Command = session === undefined ? { nowMs: this.nowMs, body } : { nowMs: this.nowMs, session, body };
    return this.machine.apply(++this.index, command);
  }
  command(command: Command): ApplyResult {
    return this.machine.apply(++this.index, command);
  }
  put(key: string, value: string, extra: { lease?: number; prevKv?: boolean } = {}): ApplyResult {
    return this.run({ type: 'put', put: { key, value: bytes(value), ...extra } });
  }
  del(key: string, rangeEnd?: string, prevKv?: boolean): ApplyResult {
    const request = rangeEnd === undefined ? { key } : { key, rangeEnd };
    return this.run({ type: 'deleteRange', deleteRange: prevKv === true ? { ...request, prevKv } : request });
  }
  get(key: string, revision?: number): string | undefined {
    const request: RangeRequest = revision === undefined ? { key } : { key, revision };
    const kv = this.machine.range(request).kvs[0];
    return kv === undefined ? undefined : text(kv.value);
  }
  advance(ms: number): void {
    this.nowMs += ms;
  }
}

/** Narrow a result to one type or fail loudly. */
export function expectType<T extends ApplyResult['type']>(result: ApplyResult, type: T): Extract<ApplyResult, { type: T }> {
  if (result.type !== type) throw new Error(`expected a ${type} result, got ${JSON.stringify(result).slice(0, 300)}`);
  return result as Extract<ApplyResult, { type: T }>;
}
