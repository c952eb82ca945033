// The node agent's log service (the kubelet's /containerLogs): an actor at NODE_LOGS_PATH in each node's
// API-connection actor system, asked by the API server for pods/log (docs/decisions/0008-pod-logs.md).
//
//   logs.read → answered with logs.chunk { status, data, nextOffset, finished }
//
// A read without `offset` is the first read of a request: the log's tail (tailLines, then limitBytes,
// both bounded by LOG_READ_MAX_BYTES). A read with `offset` continues a follow from where the last
// chunk ended. `finished` says no more will be written to this log (the container exited or is gone),
// so a follower stops. The API server pulls (one ask per poll) so that no stream state lives here and a
// client that goes away leaves nothing behind on the node.
//
// Only messages that came over the transport are served (the agent's only peer is its API server,
// which authorized `get pods/log`); what a runtime reads is its LogSource's business.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { readLineTimes, stampLines, timesPathOf, type StampOptions } from './log-times.js';
import type { ActorRef, Behavior, MessageProtocol } from '../actors/index.js';
import { isActorRef, isSignal, remoteSenderOf } from '../actors/index.js';

/** Where the log actor lives in each node's actor system. */
export const NODE_LOGS_PATH = '/user/logs';
/** The most bytes one chunk carries (well below a transport frame). */
export const LOG_READ_MAX_BYTES = 1024 * 1024;
/** Longest namespace, pod or container name accepted. */
const NAME_MAX_CHARS = 253;

export interface LogReadRequest {
  readonly namespace: string;
  readonly pod: string;
  /** Absent: the pod's only container (400 when it has several). */
  readonly container?: string;
  /** The previous (terminated) run of the container. */
  readonly previous: boolean;
  readonly tailLines?: number;
  readonly limitBytes?: number;
  /** Continue a follow from this byte offset (the last chunk's nextOffset). */
  readonly offset?: number;
  /** Prefix each line with the time it was written (RFC 3339, nanoseconds). */
  readonly timestamps?: boolean;
  /** Leave out lines written before this time (sinceSeconds / sinceTime), in ms since the epoch. */
  readonly sinceMs?: number;
}

export interface LogReadMessage extends LogReadRequest {
  readonly type: 'logs.read';
  readonly replyTo: ActorRef<LogChunk>;
}

export interface LogChunk {
  readonly type: 'logs.chunk';
  /** 200, or the HTTP status of the problem (400 no such container, 404 no such pod on this node). */
  readonly status: number;
  readonly message?: string;
  readonly data: Uint8Array;
  readonly nextOffset: number;
  /** Nothing more will be written to this log. */
  readonly finished: boolean;
}

/** What a runtime offers: the answer to one read (`nowMs` stamps lines not yet timed). */
export interface LogSource {
  read(request: LogReadRequest, nowMs: number): LogChunk;
}

const stamping = (request: LogReadRequest): boolean => request.timestamps === true || request.sinceMs !== undefined;
const stampOptionsOf = (request: LogReadRequest): StampOptions => ({ timestamps: request.timestamps === true, ...(request.sinceMs === undefined ? {} : { sinceMs: request.sinceMs }) });

export function logProblem(status: number, message: string): LogChunk {
  return { type: 'logs.chunk', status, message, data: new Uint8Array(0), nextOffset: 0, finished: true };
}

const isName = (value: unknown): boolean => typeof value === 'string' && value.length > 0 && value.length <= NAME_MAX_CHARS;
const isCount = (value: unknown): boolean => Number.isSafeInteger(value) && (value as number) >= 0;

export function isLogRead(message: unknown): message is LogReadMessage {
  if (typeof message !== 'object' || message === null) return false;
  const m = message as Readonly<Record<string, unknown>>;
  return (
    m['type'] === 'logs.read' &&
    isName(m['namespace']) &&
    isName(m['pod']) &&
    (m['container'] === undefined || isName(m['container'])) &&
    typeof m['previous'] === 'boolean' &&
    (m['tailLines'] === undefined || isCount(m['tailLines'])) &&
    (m['limitBytes'] === undefined || isCount(m['limitBytes'])) &&
    (m['offset'] === undefined || isCount(m['offset'])) &&
    (m['timestamps'] === undefined || typeof m['timestamps'] === 'boolean') &&
    (m['sinceMs'] === undefined || isCount(m['sinceMs'])) &&
    isActorRef(m['replyTo'])
  );
}

export function isLogChunk(message: unknown): message is LogChunk {
  if (typeof message !== 'object' || message === null) return false;
  const m = message as Readonly<Record<string, unknown>>;
  return m['type'] === 'logs.chunk' && Number.isInteger(m['status']) && m['data'] instanceof Uint8Array && isCount(m['nextOffset']) && typeof m['finished'] === 'boolean';
}

/** What a node's API-connection system accepts besides the API client messages. */
export const NODE_LOGS_PROTOCOL: MessageProtocol = { types: ['logs.read'], validators: { 'logs.read': isLogRead } };

/** The last `lines` lines of `data` (a final newline does not start an empty line). */
export function tailLinesOf(data: Uint8Array, lines: number): Uint8Array {
  if (lines <= 0) return data.subarray(data.length);
  let end = data.length;
  if (end > 0 && data[end - 1] === 0x0a) end--;
  let seen = 0;
  for (let index = end - 1; index >= 0; index--) {
    if (data[index] === 0x0a) {
      seen++;
      if (seen === lines) return data.subarray(index + 1);
    }
  }
  return data;
}

/**
 * Reads a log file as a LogSource answer; `finished` is the caller's (is the writer done?). With
 * timestamps or a since time, lines are stamped from the times recorded beside the file
 * (log-times.ts), and a follow advances by whole lines only.
 */
export function readLogFile(path: string, request: LogReadRequest, finished: boolean, nowMs: number): LogChunk {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    // Not created yet (the container is starting): nothing to show so far.
    return { type: 'logs.chunk', status: 200, data: new Uint8Array(0), nextOffset: request.offset ?? 0, finished };
  }
  try {
    const size = fstatSync(fd).size;
    const start = request.offset !== undefined ? Math.min(request.offset, size) : Math.max(0, size - LOG_READ_MAX_BYTES);
    const length = Math.min(size - start, LOG_READ_MAX_BYTES);
    const buffer = new Uint8Array(length);
    let read = 0;
    while (read < length) {
      const count = readSync(fd, buffer, read, length - read, start + read);
      if (count === 0) break;
      read += count;
    }
    let data: Uint8Array = buffer.subarray(0, read);
    let nextOffset = start + read;
    const writerDone = finished && nextOffset >= size;
    if (stamping(request)) {
      // A line longer than a whole read goes out in pieces (else a follow would never get past it).
      const longLine = read === LOG_READ_MAX_BYTES && !data.includes(0x0a);
      const stamped = stampLines(data, start, readLineTimes(timesPathOf(path)), nowMs, stampOptionsOf(request), writerDone || longLine);
      data = stamped.data;
      nextOffset = start + stamped.consumed;
    }
    if (request.offset === undefined) {
      if (request.tailLines !== undefined) data = tailLinesOf(data, request.tailLines);
      if (request.limitBytes !== undefined && data.length > request.limitBytes) data = data.subarray(0, request.limitBytes);
    }
    // A follow may only end once everything written has been sent.
    return { type: 'logs.chunk', status: 200, data, nextOffset, finished: writerDone && nextOffset >= size };
  } finally {
    closeSync(fd);
  }
}

/** A late-bound source: the runtime is created after the connection (503 until then). */
export interface LogSourceSlot {
  current: LogSource | undefined;
}

/** The log actor: serves reads from the transport with the slot's source. */
export function nodeLogsBehavior(slot: LogSourceSlot): Behavior<LogReadMessage> {
  return {
    start() {},
    receive(ctx, _state, message) {
      if (isSignal(message)) return;
      if (remoteSenderOf(message) === undefined) {
        ctx.log.warn({ pod: message.pod }, 'log read not from the API server; ignored');
        return;
      }
      let answer: LogChunk;
      try {
        answer = slot.current === undefined ? logProblem(503, 'the node agent is starting') : slot.current.read(message, ctx.clock.now());
      } catch (error) {
        ctx.log.warn({ err: error, namespace: message.namespace, pod: message.pod }, 'log read failed');
        answer = logProblem(500, `reading the log failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      ctx.tell(message.replyTo, answer);
    },
  };
}

/** The simulated runtime's logs: a few synthetic lines per container, never growing. */
export const simulatedLogSource: LogSource = {
  read(request, nowMs) {
    const container = request.container ?? 'main';
    if (request.offset !== undefined) return { type: 'logs.chunk', status: 200, data: new Uint8Array(0), nextOffset: request.offset, finished: true };
    const text = [
      `simulated container ${container} of pod ${request.namespace}/${request.pod} started`,
      `simulated container ${container} is running (no process: this node is simulated)`,
      `simulated container ${container} has nothing more to say`,
    ].join('\n');
    return readFromText(`${text}\n`, request, nowMs);
  },
};

function readFromText(text: string, request: LogReadRequest, nowMs: number): LogChunk {
  const bytes = new TextEncoder().encode(text);
  // Simulated lines have no recorded times: stamped with now.
  const lines = stamping(request) ? stampLines(bytes, 0, { ends: [], times: [] }, nowMs, stampOptionsOf(request), true).data : bytes;
  let data: Uint8Array = request.tailLines === undefined ? lines : tailLinesOf(lines, request.tailLines);
  if (request.limitBytes !== undefined && data.length > request.limitBytes) data = data.subarray(0, request.limitBytes);
  return { type: 'logs.chunk', status: 200, data, nextOffset: bytes.length, finished: true };
}
