// pods/log: a container's output as text/plain, read from the node agent that runs the pod
// (docs/decisions/0008-pod-logs.md). The API server finds the pod's node, reads the agent's actor
// address from the Node (annotation kplane.io/agent-node, else the node's name, which is what node
// agents dial as) and asks its log actor through a PodLogReader (the actor transport in production).
//
// Query: container, previous, tailLines, limitBytes, follow, timestamps, sinceSeconds and sinceTime
// (line times are recorded by the node agent: node-agent/log-times.ts). With follow=true the
// first chunk is answered at once and the rest is pulled every pollIntervalMs and streamed until the
// log is finished (the container exited or the pod is gone from the node), the agent stops answering,
// or the client goes away.

import type { Clock, TimerHandle } from '../../actors/clock.js';
import type { ActorSystem } from '../../actors/index.js';
import { isLogChunk, NODE_LOGS_PATH, type LogChunk, type LogReadMessage, type LogReadRequest } from '../../node-agent/logs.js';
import { AGENT_NODE_ANNOTATION } from '../../node-agent/registration.js';
import { nodes as nodeDefinition } from '../registry/core.js';
import { isObject, type JsonObject, type ResourceDefinition } from '../registry/types.js';
import { metadataOf, type ObjectStore } from '../storage/object-store.js';
import type { RunningWatch } from '../storage/watch.js';
import { ApiError, errors } from '../status.js';
import type { ApiRequest, ApiResponse, TextSink } from './types.js';

/** How often a follow asks the agent for more. */
export const LOG_FOLLOW_POLL_MS_DEFAULT = 500;
/** One read waits this long for the agent's answer. */
export const LOG_READ_TIMEOUT_MS = 10_000;

/** Asks the log actor of the agent at `agentNode` (rejects when it cannot be reached). */
export interface PodLogReader {
  read(agentNode: string, request: LogReadRequest): Promise<LogChunk>;
}

/**
 * The production reader: an ask to the agent's log actor over the actor transport. The system is
 * looked up at each read (api/main.ts builds it after the HTTPS face). Node agents dial the API
 * server, so an agent is reachable only from the API server it is connected to.
 */
export function actorPodLogReader(systemOf: () => ActorSystem | undefined, timeoutMs = LOG_READ_TIMEOUT_MS): PodLogReader {
  return {
    async read(agentNode, request) {
      const system = systemOf();
      if (system === undefined) throw new Error('the actor transport is not started');
      const answer: unknown = await system.ask<LogReadMessage, LogChunk>(system.refFor(agentNode, NODE_LOGS_PATH), (replyTo) => ({ type: 'logs.read', ...request, replyTo }), timeoutMs);
      if (!isLogChunk(answer)) throw new Error('the node agent answered something that is not a log chunk');
      return answer;
    },
  };
}

export interface PodLogOptions {
  readonly objects: ObjectStore;
  readonly pods: ResourceDefinition;
  /** Absent: pods/log answers 500 (this API server cannot reach node agents). */
  readonly reader: PodLogReader | undefined;
  readonly clock: Clock;
  readonly pollIntervalMs?: number;
}

type Decoder = InstanceType<typeof TextDecoder>;

const TEXT_HEADERS = { 'content-type': 'text/plain' } as const;

function flag(query: URLSearchParams, name: string): boolean {
  const value = query.get(name);
  return value === 'true' || value === '1';
}

function count(query: URLSearchParams, name: string, min: number): number | undefined {
  const text = query.get(name);
  if (text === null || text === '') return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) throw errors.badRequest(`${name} must be an integer of at least ${min}, got ${JSON.stringify(text)}`);
  return value;
}

/** An RFC 3339 time whose date exists (Date.parse would roll 2026-02-30 over to March). */
function isRfc3339(text: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  if (match === null) return false;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day && hour < 24 && minute < 60 && second < 61;
}

/** timestamps, and sinceSeconds or sinceTime (not both, as kube-apiserver validates) as a time in ms. */
function stampingOf(query: URLSearchParams, clock: Clock): Pick<LogReadRequest, 'timestamps' | 'sinceMs'> {
  const sinceSeconds = count(query, 'sinceSeconds', 1);
  const sinceTime = query.get('sinceTime');
  if (sinceSeconds !== undefined && sinceTime !== null && sinceTime !== '') throw errors.badRequest('at most one of sinceTime or sinceSeconds may be specified');
  let sinceMs: number | undefined;
  if (sinceSeconds !== undefined) sinceMs = Math.max(0, clock.now() - sinceSeconds * 1000);
  else if (sinceTime !== null && sinceTime !== '') {
    const parsed = isRfc3339(sinceTime) ? Date.parse(sinceTime) : Number.NaN;
    if (!Number.isFinite(parsed)) throw errors.badRequest(`sinceTime must be an RFC 3339 time, got ${JSON.stringify(sinceTime)}`);
    sinceMs = Math.max(0, parsed);
  }
  return { ...(flag(query, 'timestamps') ? { timestamps: true } : {}), ...(sinceMs === undefined ? {} : { sinceMs }) };
}

function problemOf(chunk: LogChunk): ApiError {
  const message = chunk.message ?? `the node agent answered ${chunk.status}`;
  if (chunk.status === 400) return errors.badRequest(message);
  if (chunk.status === 404) return new ApiError(404, 'NotFound', message);
  return new ApiError(500, 'InternalError', message);
}

/** The container asked for, or the pod's only one (as kube-apiserver picks it). */
function containerOf(spec: JsonObject, pod: string, asked: string): string {
  const containers = Array.isArray(spec['containers']) ? spec['containers'] : [];
  const names = containers.map((container) => (isObject(container) ? String(container['name']) : ''));
  if (asked !== '') {
    if (!names.includes(asked)) throw errors.badRequest(`container ${asked} is not valid for pod ${pod}`);
    return asked;
  }
  const [only] = names;
  if (names.length !== 1 || only === undefined) throw errors.badRequest(`a container name must be specified for pod ${pod}, choose one of: [${names.join(' ')}]`);
  return only;
}

async function agentNodeOf(objects: ObjectStore, nodeName: string): Promise<string> {
  const stored = await objects.read(nodeDefinition, undefined, nodeName);
  const annotations = stored === undefined ? undefined : metadataOf(stored.object)['annotations'];
  const recorded = isObject(annotations) ? annotations[AGENT_NODE_ANNOTATION] : undefined;
  return typeof recorded === 'string' && recorded !== '' ? recorded : nodeName;
}

async function readFrom(reader: PodLogReader, agentNode: string, request: LogReadRequest): Promise<LogChunk> {
  try {
    return await reader.read(agentNode, request);
  } catch (error) {
    throw new ApiError(500, 'InternalError', `the node agent ${agentNode} did not answer: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export async function handlePodLog(options: PodLogOptions, request: ApiRequest, namespace: string, name: string): Promise<ApiResponse> {
  const pod: JsonObject = await options.objects.get(options.pods, namespace, name);
  const spec = isObject(pod['spec']) ? pod['spec'] : {};
  const nodeName = typeof spec['nodeName'] === 'string' && spec['nodeName'] !== '' ? spec['nodeName'] : undefined;
  if (nodeName === undefined) throw errors.badRequest(`pod ${name} does not have a host assigned`);
  if (options.reader === undefined) throw new ApiError(500, 'InternalError', 'this API server cannot reach node agents');
  const reader = options.reader;
  const container = containerOf(spec, name, request.query.get('container') ?? '');
  const tailLines = count(request.query, 'tailLines', 0);
  const limitBytes = count(request.query, 'limitBytes', 1);
  const logRequest: LogReadRequest = {
    namespace,
    pod: name,
    previous: flag(request.query, 'previous'),
    container,
    ...(tailLines === undefined ? {} : { tailLines }),
    ...(limitBytes === undefined ? {} : { limitBytes }),
    ...stampingOf(request.query, options.clock),
  };
  const agentNode = await agentNodeOf(options.objects, nodeName);
  const first = await readFrom(reader, agentNode, logRequest);
  if (first.status !== 200) throw problemOf(first);
  const decoder = new TextDecoder();
  const text = decoder.decode(first.data, { stream: true });
  if (!flag(request.query, 'follow') || first.finished) return { status: 200, headers: TEXT_HEADERS, text: text + decoder.decode() };
  // The follow keeps the first request's since time (a sinceSeconds is counted from the request).
  const next: LogReadRequest = {
    namespace,
    pod: name,
    container,
    previous: logRequest.previous,
    ...(logRequest.timestamps === undefined ? {} : { timestamps: logRequest.timestamps }),
    ...(logRequest.sinceMs === undefined ? {} : { sinceMs: logRequest.sinceMs }),
  };
  return {
    status: 200,
    headers: TEXT_HEADERS,
    text,
    follow: (sink) => followLog(options, reader, agentNode, next, first.nextOffset, decoder, sink),
  };
}

/** Pulls the log from `offset` on the clock until it is finished, unreadable, or stopped. */
function followLog(options: PodLogOptions, reader: PodLogReader, agentNode: string, request: LogReadRequest, offset: number, decoder: Decoder, sink: TextSink): RunningWatch {
  const pollMs = options.pollIntervalMs ?? LOG_FOLLOW_POLL_MS_DEFAULT;
  let stopped = false;
  let timer: TimerHandle | undefined;
  let nextOffset = offset;
  const finish = (): void => {
    if (stopped) return;
    stopped = true;
    sink.end();
  };
  const poll = async (): Promise<void> => {
    timer = undefined;
    if (stopped) return;
    let chunk: LogChunk;
    try {
      chunk = await reader.read(agentNode, { ...request, offset: nextOffset });
    } catch {
      finish();
      return;
    }
    if (stopped) return;
    if (chunk.status !== 200) {
      finish();
      return;
    }
    nextOffset = chunk.nextOffset;
    const text = decoder.decode(chunk.data, { stream: !chunk.finished });
    if (text !== '') sink.write(text);
    if (chunk.finished) {
      finish();
      return;
    }
    timer = options.clock.setTimer(pollMs, () => void poll());
  };
  timer = options.clock.setTimer(pollMs, () => void poll());
  return {
    stop() {
      stopped = true;
      if (timer !== undefined) options.clock.cancelTimer(timer);
      timer = undefined;
    },
  };
}
