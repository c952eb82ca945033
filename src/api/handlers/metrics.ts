// metrics.k8s.io/v1beta1 (NodeMetrics, PodMetrics): `kubectl top node|pod`. Nothing is stored: each
// request asks the node agents concerned for their current figures (node-agent/stats.ts) over the
// actor transport, as pods/log does, and turns them into the objects metrics-server would serve. A
// node whose agent does not answer in time is left out of a list (metrics-server leaves out what it
// could not scrape); a get of it is a 404. docs/decisions/0010-metrics.md.

import type { Clock } from '../../actors/clock.js';
import type { ActorSystem } from '../../actors/index.js';
import { AGENT_NODE_ANNOTATION } from '../../node-agent/registration.js';
import { isStatsSummary, NODE_STATS_PATH, type StatsReadMessage, type StatsSummary, type Usage } from '../../node-agent/stats.js';
import { nodes as nodeDefinition, pods as podDefinition } from '../registry/core.js';
import { isObject, type JsonObject, type ResourceDefinition } from '../registry/types.js';
import { formatTimestamp, metadataOf, type ObjectStore } from '../storage/object-store.js';
import { matchesLabels, parseLabelSelector, type LabelSelector } from '../selectors.js';
import { ApiError } from '../status.js';
import type { ApiRequest, ApiResponse } from './types.js';

/** One node's answer waits this long. */
export const STATS_READ_TIMEOUT_MS = 5_000;
const API_VERSION = 'metrics.k8s.io/v1beta1';

/** Asks the stats actor of the agent at `agentNode` (rejects when it cannot be reached). */
export interface NodeStatsReader {
  read(agentNode: string): Promise<StatsSummary>;
}

/** The production reader: an ask over the actor transport (the system is looked up at each read). */
export function actorNodeStatsReader(systemOf: () => ActorSystem | undefined, timeoutMs = STATS_READ_TIMEOUT_MS): NodeStatsReader {
  return {
    async read(agentNode) {
      const system = systemOf();
      if (system === undefined) throw new Error('the actor transport is not started');
      const answer: unknown = await system.ask<StatsReadMessage, StatsSummary>(system.refFor(agentNode, NODE_STATS_PATH), (replyTo) => ({ type: 'stats.read', replyTo }), timeoutMs);
      if (!isStatsSummary(answer)) throw new Error('the node agent answered something that is not a stats summary');
      return answer;
    },
  };
}

export interface MetricsOptions {
  readonly objects: ObjectStore;
  /** Absent: this API server cannot reach node agents, and every metrics request is a 503. */
  readonly reader: NodeStatsReader | undefined;
  readonly clock: Clock;
}

export interface MetricsTarget {
  readonly definition: ResourceDefinition;
  readonly verb: string;
  readonly namespace?: string;
  readonly name?: string;
}

const cpuText = (usage: Usage): string => `${Math.round(usage.cpuNanoCores)}n`;
const memoryText = (usage: Usage): string => `${Math.round(usage.memoryBytes / 1024)}Ki`;
const usageOf = (usage: Usage): JsonObject => ({ cpu: cpuText(usage), memory: memoryText(usage) });

function windowText(windowMs: number): string {
  return `${Number((windowMs / 1000).toFixed(3))}s`;
}

function labelsOf(object: JsonObject): Record<string, string> {
  const labels = metadataOf(object)['labels'];
  return isObject(labels) ? (labels as Record<string, string>) : {};
}

function agentNodeOf(node: JsonObject): string {
  const metadata = metadataOf(node);
  const annotations = metadata['annotations'];
  const recorded = isObject(annotations) ? annotations[AGENT_NODE_ANNOTATION] : undefined;
  return typeof recorded === 'string' && recorded !== '' ? recorded : String(metadata['name'] ?? '');
}

function selectorOf(request: ApiRequest): LabelSelector | undefined {
  const text = request.query.get('labelSelector');
  return text === null || text === '' ? undefined : parseLabelSelector(text);
}

/** Each named node's summary, asked in parallel; nodes that do not answer (or answer a problem) are missing. */
async function summaries(reader: NodeStatsReader, nodes: readonly JsonObject[]): Promise<Map<string, StatsSummary>> {
  const answers = await Promise.allSettled(nodes.map((node) => reader.read(agentNodeOf(node))));
  const found = new Map<string, StatsSummary>();
  nodes.forEach((node, index) => {
    const answer = answers[index];
    if (answer?.status === 'fulfilled' && answer.value.status === 200) found.set(String(metadataOf(node)['name'] ?? ''), answer.value);
  });
  return found;
}

function list(definition: ResourceDefinition, items: JsonObject[]): ApiResponse {
  return { status: 200, body: { kind: definition.listKind, apiVersion: API_VERSION, metadata: {}, items } };
}

function notFound(definition: ResourceDefinition, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${definition.plural}.metrics.k8s.io "${name}" not found`, { name, group: 'metrics.k8s.io', kind: definition.plural });
}

export async function handleMetrics(options: MetricsOptions, request: ApiRequest, target: MetricsTarget): Promise<ApiResponse> {
  if (target.verb !== 'get' && target.verb !== 'list') throw new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
  const reader = options.reader;
  if (reader === undefined) throw new ApiError(503, 'ServiceUnavailable', 'this API server cannot reach node agents for metrics');
  return target.definition.kind === 'NodeMetrics' ? nodeMetrics(options, reader, request, target) : podMetrics(options, reader, request, target);
}

async function nodeMetrics(options: MetricsOptions, reader: NodeStatsReader, request: ApiRequest, target: MetricsTarget): Promise<ApiResponse> {
  const selector = selectorOf(request);
  let nodes: JsonObject[];
  if (target.name !== undefined) {
    const stored = await options.objects.read(nodeDefinition, undefined, target.name);
    if (stored === undefined) throw notFound(target.definition, target.name);
    nodes = [stored.object];
  } else {
    nodes = (await options.objects.list(nodeDefinition, undefined)).items.filter((node) => selector === undefined || matchesLabels(selector, labelsOf(node)));
  }
  const found = await summaries(reader, nodes);
  const items: JsonObject[] = [];
  for (const node of nodes) {
    const name = String(metadataOf(node)['name'] ?? '');
    const summary = found.get(name);
    if (summary === undefined) continue;
    items.push({
      kind: 'NodeMetrics',
      apiVersion: API_VERSION,
      metadata: { name, labels: labelsOf(node), creationTimestamp: formatTimestamp(new Date(options.clock.now())) },
      timestamp: formatTimestamp(new Date(summary.timestampMs)),
      window: windowText(summary.windowMs),
      usage: usageOf(summary.node),
    });
  }
  if (target.name === undefined) return list(target.definition, items);
  const [item] = items;
  if (item === undefined) throw notFound(target.definition, target.name);
  return { status: 200, body: item };
}

async function podMetrics(options: MetricsOptions, reader: NodeStatsReader, request: ApiRequest, target: MetricsTarget): Promise<ApiResponse> {
  const selector = selectorOf(request);
  let pods: JsonObject[];
  if (target.name !== undefined) {
    const stored = await options.objects.read(podDefinition, target.namespace, target.name);
    if (stored === undefined) throw notFound(target.definition, target.name);
    pods = [stored.object];
  } else {
    pods = (await options.objects.list(podDefinition, target.namespace)).items.filter((pod) => selector === undefined || matchesLabels(selector, labelsOf(pod)));
  }
  const nodeNames = new Set<string>();
  for (const pod of pods) {
    const nodeName = isObject(pod['spec']) ? pod['spec']['nodeName'] : undefined;
    if (typeof nodeName === 'string' && nodeName !== '') nodeNames.add(nodeName);
  }
  const nodes: JsonObject[] = [];
  for (const nodeName of nodeNames) {
    const stored = await options.objects.read(nodeDefinition, undefined, nodeName);
    if (stored !== undefined) nodes.push(stored.object);
  }
  const found = await summaries(reader, nodes);
  const items: JsonObject[] = [];
  for (const pod of pods) {
    const metadata = metadataOf(pod);
    const nodeName = isObject(pod['spec']) ? String(pod['spec']['nodeName'] ?? '') : '';
    const summary = found.get(nodeName);
    const usage = summary?.pods.find((candidate) => candidate.namespace === metadata['namespace'] && candidate.name === metadata['name']);
    if (summary === undefined || usage === undefined) continue;
    items.push({
      kind: 'PodMetrics',
      apiVersion: API_VERSION,
      metadata: { name: metadata['name'], namespace: metadata['namespace'], labels: labelsOf(pod), creationTimestamp: formatTimestamp(new Date(options.clock.now())) },
      timestamp: formatTimestamp(new Date(summary.timestampMs)),
      window: windowText(summary.windowMs),
      containers: usage.containers.map((container) => ({ name: container.name, usage: usageOf(container) })),
    });
  }
  if (target.name === undefined) return list(target.definition, items);
  const [item] = items;
  if (item === undefined) throw notFound(target.definition, target.name);
  return { status: 200, body: item };
}
