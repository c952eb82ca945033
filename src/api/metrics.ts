// The API server's metrics, served on /metrics in the Prometheus text format (version 0.0.4):
// requests by verb, group, resource, subresource and code; request latency histograms (watches
// excluded: they are long-running); requests in flight (readOnly / mutating); open watches and the
// events sent on them; and the latency and errors of every call the server makes to the store,
// measured by wrapping its StoreClient (`instrumentStore`). Names follow kube-apiserver's where it
// has one (apiserver_request_total…), with the kplane_ prefix where it has not.
//
// server.ts counts each request once, at the HTTP layer: `startRequest` when it arrives, `finish`
// when its response closes. Label values come from the URL, so the number of label sets is bounded
// (MAX_REQUEST_SERIES): past it, new ones are folded into resource "<other>".

import { cpuUsage, memoryUsage } from 'node:process';
import type { StoreClient, WatchListener } from '../store/client.js';
import { LATENCY_BUCKETS_MS, LatencyHistogram } from '../store/replica/metrics.js';
import { isWatchRequested, parseRequestInfo } from './request-info.js';

/** Distinct request label sets kept (counters and histograms each); past it they fold into "<other>". */
export const MAX_REQUEST_SERIES = 2_000;
export const OTHER_LABEL = '<other>';
export const METRICS_PATH = '/metrics';
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** What a request is, for its labels: kube-apiserver's canonical verb (LIST, WATCH, GET, POST, …). */
export interface RequestLabels {
  readonly verb: string;
  readonly group: string;
  readonly resource: string;
  readonly subresource: string;
}

export type RequestKind = 'readOnly' | 'mutating' | 'watch';

export function requestLabels(method: string, path: string, query: URLSearchParams): RequestLabels {
  const upper = method.toUpperCase();
  const info = parseRequestInfo(upper, path, query);
  if (info.kind === 'nonResource') return { verb: upper, group: '', resource: '', subresource: '' };
  let verb: string;
  if (info.verb === 'list') verb = 'LIST';
  else if (info.verb === 'watch') verb = 'WATCH';
  else if (upper === 'HEAD') verb = 'GET';
  else verb = upper;
  return { verb, group: info.apiGroup, resource: info.resource, subresource: info.subresource ?? '' };
}

export function requestKind(method: string, query: URLSearchParams): RequestKind {
  const upper = method.toUpperCase();
  if (upper !== 'GET' && upper !== 'HEAD') return 'mutating';
  return isWatchRequested(query) ? 'watch' : 'readOnly';
}

/** One request being served: `watchEvent` for each event written, `finish` when the response closes. */
export interface RequestObservation {
  watchEvent(): void;
  finish(statusCode: number): void;
}

/** Prometheus label value escaping: backslash, double quote and newline. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labelText(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([name, value]) => `${name}="${escapeLabelValue(value)}"`)
    .join(',');
}

/** Histogram lines in seconds for one label set (`labels` already rendered, may be empty). */
function histogramLines(name: string, labels: string, histogram: LatencyHistogram): string[] {
  const prefix = labels === '' ? '' : `${labels},`;
  const lines: string[] = [];
  let cumulative = 0;
  LATENCY_BUCKETS_MS.forEach((bound, index) => {
    cumulative += histogram.counts[index] ?? 0;
    lines.push(`${name}_bucket{${prefix}le="${bound / 1000}"} ${cumulative}`);
  });
  const suffix = labels === '' ? '' : `{${labels}}`;
  lines.push(`${name}_bucket{${prefix}le="+Inf"} ${histogram.count}`, `${name}_sum${suffix} ${histogram.sumMs / 1000}`, `${name}_count${suffix} ${histogram.count}`);
  return lines;
}

/** Counters (or gauges) keyed by a label set, bounded by MAX_REQUEST_SERIES via `fold`. */
class LabelledValues<T> {
  private readonly entries = new Map<string, { readonly labels: Readonly<Record<string, string>>; readonly value: T }>();

  constructor(
    private readonly make: () => T,
    private readonly limit: number,
  ) {}

  /** Label sets of one family always list the same names in the same order, so the values are the key. */
  get(labels: Readonly<Record<string, string>>, fold: () => Readonly<Record<string, string>>): T {
    let entry = this.entries.get(Object.values(labels).join('\u0001'));
    if (entry === undefined && this.entries.size >= this.limit) {
      labels = fold();
      entry = this.entries.get(Object.values(labels).join('\u0001'));
    }
    if (entry === undefined) {
      entry = { labels, value: this.make() };
      this.entries.set(Object.values(labels).join('\u0001'), entry);
    }
    return entry.value;
  }

  *all(): Iterable<{ readonly labels: string; readonly value: T }> {
    for (const entry of this.entries.values()) yield { labels: labelText(entry.labels), value: entry.value };
  }
}

class Counter {
  value = 0;
}

const foldRequest = (labels: Readonly<Record<string, string>>): Readonly<Record<string, string>> => ({
  ...labels,
  group: OTHER_LABEL,
  resource: OTHER_LABEL,
  subresource: OTHER_LABEL,
});

export interface ApiMetricsOptions {
  /** A monotonic millisecond clock for latencies (server.ts, the HTTP driver, passes performance.now). */
  readonly nowMs: () => number;
}

export class ApiMetrics {
  private readonly requests = new LabelledValues(() => new Counter(), MAX_REQUEST_SERIES);
  private readonly latency = new LabelledValues(() => new LatencyHistogram(), MAX_REQUEST_SERIES);
  private readonly watchesOpen = new LabelledValues(() => new Counter(), MAX_REQUEST_SERIES);
  private readonly watchEvents = new LabelledValues(() => new Counter(), MAX_REQUEST_SERIES);
  private readonly inFlight: Record<Exclude<RequestKind, 'watch'>, number> = { readOnly: 0, mutating: 0 };
  private readonly storeLatency = new Map<string, LatencyHistogram>();
  private readonly storeErrors = new LabelledValues(() => new Counter(), MAX_REQUEST_SERIES);
  private readonly nowMs: () => number;

  constructor(options: ApiMetricsOptions) {
    this.nowMs = options.nowMs;
  }

  /** Count a request in as it arrives; the returned observation counts it out. */
  startRequest(method: string, path: string, query: URLSearchParams): RequestObservation {
    const started = this.nowMs();
    const labels = requestLabels(method, path, query);
    const kind = requestKind(method, query);
    const watchLabels = { group: labels.group, resource: labels.resource };
    const foldWatch = (): Readonly<Record<string, string>> => ({ group: OTHER_LABEL, resource: OTHER_LABEL });
    const open = kind === 'watch' ? this.watchesOpen.get(watchLabels, foldWatch) : undefined;
    if (open !== undefined) open.value++;
    else if (kind !== 'watch') this.inFlight[kind]++;
    let finished = false;
    let events: Counter | undefined;
    return {
      watchEvent: () => {
        events ??= this.watchEvents.get(watchLabels, foldWatch);
        events.value++;
      },
      finish: (statusCode) => {
        if (finished) return;
        finished = true;
        if (open !== undefined) open.value--;
        else if (kind !== 'watch') this.inFlight[kind]--;
        const base = { verb: labels.verb, group: labels.group, resource: labels.resource, subresource: labels.subresource };
        const withCode = { ...base, code: String(statusCode) };
        this.requests.get(withCode, () => foldRequest(withCode)).value++;
        if (kind !== 'watch') this.latency.get(base, () => foldRequest(base)).observe(Math.max(0, this.nowMs() - started));
      },
    };
  }

  /** A StoreClient that times every call to `store` (the watch call: until the watch is open). */
  instrumentStore(store: StoreClient): StoreClient {
    const timed = <T>(operation: string, call: () => Promise<T>): Promise<T> => {
      const started = this.nowMs();
      const observe = (): void => {
        let histogram = this.storeLatency.get(operation);
        if (histogram === undefined) {
          histogram = new LatencyHistogram();
          this.storeLatency.set(operation, histogram);
        }
        histogram.observe(Math.max(0, this.nowMs() - started));
      };
      return call().then(
        (result) => {
          observe();
          return result;
        },
        (error: unknown) => {
          observe();
          const code = typeof error === 'object' && error !== null && 'code' in error ? String((error as { readonly code: unknown }).code) : 'UNKNOWN';
          const labels = { operation, code };
          this.storeErrors.get(labels, () => ({ operation, code: OTHER_LABEL })).value++;
          throw error;
        },
      );
    };
    return {
      range: (request, options) => timed('range', () => store.range(request, options)),
      put: (request) => timed('put', () => store.put(request)),
      deleteRange: (request) => timed('deleteRange', () => store.deleteRange(request)),
      txn: (request) => timed('txn', () => store.txn(request)),
      compact: (revision) => timed('compact', () => store.compact(revision)),
      leaseGrant: (ttlSeconds, id) => timed('leaseGrant', () => store.leaseGrant(ttlSeconds, id)),
      leaseRevoke: (id) => timed('leaseRevoke', () => store.leaseRevoke(id)),
      leaseKeepAlive: (id) => timed('leaseKeepAlive', () => store.leaseKeepAlive(id)),
      watch: (request, listener: WatchListener) => timed('watch', () => store.watch(request, listener)),
      close: () => store.close(),
    };
  }

  /** Everything, in the Prometheus text format (ends with a newline). */
  render(): string {
    const lines: string[] = [];
    lines.push('# HELP apiserver_request_total Requests answered, by verb, group, resource, subresource and HTTP code (0: the client left first).');
    lines.push('# TYPE apiserver_request_total counter');
    for (const { labels, value } of this.requests.all()) lines.push(`apiserver_request_total{${labels}} ${value.value}`);
    lines.push('# HELP apiserver_request_duration_seconds Request latency from arrival to the end of the response, watches excluded.');
    lines.push('# TYPE apiserver_request_duration_seconds histogram');
    for (const { labels, value } of this.latency.all()) lines.push(...histogramLines('apiserver_request_duration_seconds', labels, value));
    lines.push('# HELP apiserver_current_inflight_requests Requests being served, watches apart.');
    lines.push('# TYPE apiserver_current_inflight_requests gauge');
    lines.push(`apiserver_current_inflight_requests{request_kind="readOnly"} ${this.inFlight.readOnly}`);
    lines.push(`apiserver_current_inflight_requests{request_kind="mutating"} ${this.inFlight.mutating}`);
    lines.push('# HELP apiserver_registered_watchers Open watch streams, by group and resource.');
    lines.push('# TYPE apiserver_registered_watchers gauge');
    for (const { labels, value } of this.watchesOpen.all()) lines.push(`apiserver_registered_watchers{${labels}} ${value.value}`);
    lines.push('# HELP apiserver_watch_events_total Events written to watch streams, by group and resource.');
    lines.push('# TYPE apiserver_watch_events_total counter');
    for (const { labels, value } of this.watchEvents.all()) lines.push(`apiserver_watch_events_total{${labels}} ${value.value}`);
    lines.push('# HELP kplane_apiserver_store_request_duration_seconds Latency of the calls the API server makes to the store, by operation.');
    lines.push('# TYPE kplane_apiserver_store_request_duration_seconds histogram');
    for (const [operation, histogram] of this.storeLatency) lines.push(...histogramLines('kplane_apiserver_store_request_duration_seconds', labelText({ operation }), histogram));
    lines.push('# HELP kplane_apiserver_store_request_errors_total Store calls that failed, by operation and error code.');
    lines.push('# TYPE kplane_apiserver_store_request_errors_total counter');
    for (const { labels, value } of this.storeErrors.all()) lines.push(`kplane_apiserver_store_request_errors_total{${labels}} ${value.value}`);
    const cpu = cpuUsage();
    lines.push('# HELP process_cpu_seconds_total User and system CPU time spent.');
    lines.push('# TYPE process_cpu_seconds_total counter');
    lines.push(`process_cpu_seconds_total ${(cpu.user + cpu.system) / 1e6}`);
    lines.push('# HELP process_resident_memory_bytes Resident memory size.');
    lines.push('# TYPE process_resident_memory_bytes gauge');
    lines.push(`process_resident_memory_bytes ${memoryUsage.rss()}`);
    return `${lines.join('\n')}\n`;
  }
}

/** One sample line of the text format, parsed (for tests and the benchmark). */
export interface MetricSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Parse the sample lines of a Prometheus text exposition (comments skipped); throws on a malformed line. */
export function parseMetrics(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  const linePattern = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
  const labelPattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/y;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = linePattern.exec(line);
    if (match === null) throw new Error(`not a metric sample line: ${line}`);
    const labels: Record<string, string> = {};
    const labelText = match[2] ?? '';
    labelPattern.lastIndex = 0;
    while (labelPattern.lastIndex < labelText.length) {
      const label = labelPattern.exec(labelText);
      if (label === null) throw new Error(`malformed labels: ${line}`);
      labels[label[1] ?? ''] = (label[2] ?? '').replace(/\\(.)/g, (_, escaped: string) => (escaped === 'n' ? '\n' : escaped));
    }
    const raw = match[3] ?? '';
    const value = raw === '+Inf' ? Number.POSITIVE_INFINITY : raw === '-Inf' ? Number.NEGATIVE_INFINITY : Number(raw);
    if (Number.isNaN(value) && raw !== 'NaN') throw new Error(`malformed value: ${line}`);
    samples.push({ name: match[1] ?? '', labels, value });
  }
  return samples;
}

/** The sum of the samples named `name` whose labels include `where`. */
export function sumSamples(samples: readonly MetricSample[], name: string, where: Readonly<Record<string, string>> = {}): number {
  let total = 0;
  for (const sample of samples) {
    if (sample.name !== name) continue;
    if (Object.entries(where).every(([label, value]) => sample.labels[label] === value)) total += sample.value;
  }
  return total;
}
