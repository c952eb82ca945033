// `npm run bench:api`: the API server as a client sees it, over HTTPS, in front of 3 store replica
// processes (fsync on), with the store's own figure measured in the same run as the yardstick:
//   - raw store writes/s at 64 clients (RemoteStoreClient puts of the size a ConfigMap is stored at),
//     then ConfigMap creates/s at 64 HTTPS clients (keep-alive agent): p50 / p99, and
//     ratio_api_create_vs_store_write (target ≥ 0.5; p99 target ≤ 1 s, the Kubernetes SLO);
//   - list latency over LIST_PODS pods: full lists, and limit=500 pages walked with continue;
//   - watch fan-out: WATCHERS HTTP watch streams (one socket each) on one namespace, WATCH_EVENTS
//     creates by 4 writers; deliveries/s and the lag from a create being sent to each watcher
//     reading its event (p50 / p99).
// The API server is a child process (dist/src/api/main.js with a temp cluster dir: it makes the PKI
// and the token file; the bench reads the admin token and the CA back), so its CPU is its own.
// Options: --quick (short windows, 2,000 pods, 200 watchers, 50 events); --cpu-prof (the API server
// under node --cpu-prof; its top costs are printed for two windows: the measured creates, and the
// watch fan-out from the first create to the last delivery).
// Progress on stderr, tables on stdout, ONE JSON line at the end.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { storeKey } from '../src/api/auth-types.js';
import { parseMetrics, sumSamples, type MetricSample } from '../src/api/metrics.js';
import type { RemoteStoreClient } from '../src/store/client/remote-store-client.js';
import { ReplicaCluster } from '../src/testing/replica-cluster.js';
import { ApiClient, startApiServerChild, type ApiServerChild } from './api-client.js';
import { summarizeCpuProfile, type CostLine, type ProfileWindow } from './cpu-profile.js';
import { percentile, runClosedLoop, sleep, type LoadResult } from './store-load.js';

const quick = process.argv.includes('--quick');
const cpuProfile = process.argv.includes('--cpu-prof');
const CONCURRENCY = 64;
const WARMUP_MS = quick ? 500 : 1_000;
const DURATION_MS = quick ? 3_000 : 8_000;
const PAYLOAD_BYTES = 256;
const LIST_PODS = quick ? 2_000 : 10_000;
const LIST_PAGE_LIMIT = 500;
const FULL_LISTS = quick ? 3 : 10;
const PAGED_WALKS = quick ? 1 : 3;
const WATCHERS = quick ? 200 : 1_000;
const WATCH_EVENTS = quick ? 50 : 200;
const WATCH_WRITERS = 4;
/** Watches opened at once while setting up (each is a TLS handshake). */
const WATCH_OPEN_BATCH = 50;
const WATCH_DRAIN_TIMEOUT_MS = 60_000;
const CREATE_P99_TARGET_MS = 1_000;
const RATIO_TARGET = 0.5;

const progress = (line: string): void => {
  process.stderr.write(`[bench:api] ${line}\n`);
};
const round = (value: number, digits = 1): number => Math.round(value * 10 ** digits) / 10 ** digits;
const payload = 'x'.repeat(PAYLOAD_BYTES);

const configMap = (name: string, data: Record<string, string>): unknown => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { bench: 'api' } }, data });
const pod = (name: string): unknown => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { app: 'bench-list', shard: String(name.length % 7) } },
  spec: { containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.9', resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
});

/** Runs `total` jobs with `concurrency` workers. */
async function pool(total: number, concurrency: number, job: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) await job(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
}

interface CreateFigures {
  readonly store: LoadResult;
  readonly api: LoadResult;
  readonly valueBytes: number;
  /** When the API create phase ran, on the monotonic clock the CPU profile uses. */
  readonly apiWindow: ProfileWindow;
  readonly server: ServerView;
}

const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

async function measureCreates(api: ApiClient, store: RemoteStoreClient): Promise<CreateFigures> {
  await api.expect(201, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });
  // The size a ConfigMap of this shape is stored at, so the raw puts carry the same bytes.
  await api.expect(201, 'POST', '/api/v1/namespaces/bench/configmaps', configMap('c-00-000000', { payload }));
  const probe = await store.range({ key: storeKey('configmaps', '', 'bench', 'c-00-000000') });
  const valueBytes = probe.kvs[0]?.value.length ?? PAYLOAD_BYTES;
  const value = new Uint8Array(valueBytes).fill(120);

  progress(`store: raw puts of ${valueBytes} bytes at ${CONCURRENCY} clients for ${DURATION_MS} ms`);
  const storeResult = await runClosedLoop({
    concurrency: CONCURRENCY,
    warmupMs: WARMUP_MS,
    durationMs: DURATION_MS,
    operation: async (client, sequence) => {
      await store.put({ key: `/bench/raw/${client}/${sequence}`, value });
    },
  });
  progress(`store:   ${storeResult.opsPerS.toFixed(0)} writes/s, p50 ${storeResult.p50Ms.toFixed(1)} ms, p99 ${storeResult.p99Ms.toFixed(1)} ms, ${storeResult.errors} errors`);

  progress(`api: ConfigMap creates at ${CONCURRENCY} HTTPS clients for ${DURATION_MS} ms`);
  const before = await scrape(api);
  const scrapedAt = performance.now();
  const fromUs = monotonicUs();
  const apiResult = await runClosedLoop({
    concurrency: CONCURRENCY,
    warmupMs: WARMUP_MS,
    durationMs: DURATION_MS,
    operation: async (client, sequence) => {
      await api.expect(201, 'POST', '/api/v1/namespaces/bench/configmaps', configMap(`c-${client}-${sequence}`, { payload }));
    },
  });
  progress(`api:   ${apiResult.opsPerS.toFixed(0)} creates/s, p50 ${apiResult.p50Ms.toFixed(1)} ms, p99 ${apiResult.p99Ms.toFixed(1)} ms, ${apiResult.errors} errors${apiResult.firstError === undefined ? '' : ` (${apiResult.firstError})`}`);
  const apiWindow = { fromUs: fromUs + WARMUP_MS * 1000, toUs: monotonicUs() };
  return { store: storeResult, api: apiResult, valueBytes, apiWindow, server: serverView(before, await scrape(api), performance.now() - scrapedAt) };
}

interface ListFigures {
  readonly fullMs: readonly number[];
  readonly fullBytes: number;
  readonly pageMs: readonly number[];
}

async function measureLists(api: ApiClient): Promise<ListFigures> {
  await api.expect(201, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench-list' } });
  progress(`list: creating ${LIST_PODS} pods`);
  const started = performance.now();
  await pool(LIST_PODS, CONCURRENCY, async (index) => {
    await api.expect(201, 'POST', '/api/v1/namespaces/bench-list/pods', pod(`p-${index}`));
  });
  progress(`list:   created in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const path = '/api/v1/namespaces/bench-list/pods';
  const fullMs: number[] = [];
  let fullBytes = 0;
  for (let attempt = 0; attempt < FULL_LISTS; attempt++) {
    const sent = performance.now();
    const reply = await api.expect(200, 'GET', path);
    fullMs.push(performance.now() - sent);
    fullBytes = Buffer.byteLength(reply.body);
    if (attempt === 0) {
      const items = (JSON.parse(reply.body) as { items?: unknown[] }).items?.length ?? 0;
      if (items !== LIST_PODS) throw new Error(`a full list returned ${items} pods, not ${LIST_PODS}`);
    }
  }
  progress(`list:   ${FULL_LISTS} full lists, median ${percentile([...fullMs].sort((a, b) => a - b), 50).toFixed(0)} ms, ${(fullBytes / 1e6).toFixed(1)} MB each`);
  const pageMs: number[] = [];
  for (let walk = 0; walk < PAGED_WALKS; walk++) {
    let token: string | undefined;
    let seen = 0;
    do {
      const query = `?limit=${LIST_PAGE_LIMIT}${token === undefined ? '' : `&continue=${encodeURIComponent(token)}`}`;
      const sent = performance.now();
      const reply = await api.expect(200, 'GET', `${path}${query}`);
      pageMs.push(performance.now() - sent);
      const page = JSON.parse(reply.body) as { items?: unknown[]; metadata?: { continue?: string } };
      seen += page.items?.length ?? 0;
      token = page.metadata?.continue === '' ? undefined : page.metadata?.continue;
    } while (token !== undefined);
    if (seen !== LIST_PODS) throw new Error(`a paged walk saw ${seen} pods, not ${LIST_PODS}`);
  }
  progress(`list:   ${pageMs.length} pages of ${LIST_PAGE_LIMIT}`);
  return { fullMs, fullBytes, pageMs };
}

interface WatchFigures {
  readonly window: ProfileWindow;
  readonly expected: number;
  readonly delivered: number;
  readonly deliveriesPerS: number;
  readonly lagMs: readonly number[];
  readonly setupMs: number;
}

async function measureWatchFanOut(api: ApiClient): Promise<WatchFigures> {
  await api.expect(201, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench-watch' } });
  const path = '/api/v1/namespaces/bench-watch/configmaps';
  const listed = JSON.parse((await api.expect(200, 'GET', path)).body) as { metadata?: { resourceVersion?: string } };
  const resourceVersion = listed.metadata?.resourceVersion ?? '0';
  const lagMs: number[] = [];
  let delivered = 0;
  let lastDelivery = 0;
  const sentAtPattern = /"sentAt":"([0-9.]+)"/;
  const onLine = (line: string): void => {
    const match = sentAtPattern.exec(line);
    if (match === null) return;
    const now = performance.now();
    lagMs.push(now - Number(match[1]));
    delivered++;
    lastDelivery = now;
  };
  progress(`watch: opening ${WATCHERS} watch streams`);
  const setupStarted = performance.now();
  const watches: Array<{ stop(): void }> = [];
  for (let opened = 0; opened < WATCHERS; opened += WATCH_OPEN_BATCH) {
    const batch = Math.min(WATCH_OPEN_BATCH, WATCHERS - opened);
    watches.push(...(await Promise.all(Array.from({ length: batch }, () => api.watch(`${path}?watch=1&resourceVersion=${resourceVersion}`, onLine)))));
  }
  const setupMs = performance.now() - setupStarted;
  progress(`watch:   open in ${(setupMs / 1000).toFixed(1)} s; ${WATCH_EVENTS} creates by ${WATCH_WRITERS} writers`);
  const expected = WATCHERS * WATCH_EVENTS;
  const firstSend = performance.now();
  const fromUs = monotonicUs();
  try {
    await pool(WATCH_EVENTS, WATCH_WRITERS, async (index) => {
      await api.expect(201, 'POST', path, configMap(`w-${index}`, { sentAt: String(performance.now()) }));
    });
    const deadline = performance.now() + WATCH_DRAIN_TIMEOUT_MS;
    while (delivered < expected && performance.now() < deadline) await sleep(20);
  } finally {
    for (const watch of watches) watch.stop();
  }
  const deliveriesPerS = delivered === 0 ? 0 : delivered / ((lastDelivery - firstSend) / 1000);
  progress(`watch:   ${delivered}/${expected} events delivered, ${deliveriesPerS.toFixed(0)}/s`);
  return { window: { fromUs, toUs: monotonicUs() }, expected, delivered, deliveriesPerS, lagMs, setupMs };
}

/** The API server's own view, from /metrics: the server-side mean of creates and of its store calls. */
interface ServerView {
  readonly createMeanMs: number | null;
  readonly storeRangeMeanMs: number | null;
  readonly storeTxnMeanMs: number | null;
  /** The API server's CPU time per create, and the cores it used meanwhile (process_cpu_seconds_total). */
  readonly cpuMsPerCreate: number | null;
  readonly cpuCores: number;
}

async function scrape(api: ApiClient): Promise<MetricSample[]> {
  return parseMetrics((await api.expect(200, 'GET', '/metrics')).body);
}

/** Means over what happened between two scrapes. */
function serverView(before: readonly MetricSample[], after: readonly MetricSample[], elapsedMs: number): ServerView {
  const mean = (name: string, where: Record<string, string>): number | null => {
    const delta = (suffix: string): number => sumSamples(after, `${name}_${suffix}`, where) - sumSamples(before, `${name}_${suffix}`, where);
    const count = delta('count');
    return count === 0 ? null : (delta('sum') / count) * 1000;
  };
  const cpuSeconds = sumSamples(after, 'process_cpu_seconds_total') - sumSamples(before, 'process_cpu_seconds_total');
  const creates = sumSamples(after, 'apiserver_request_total', { verb: 'POST', resource: 'configmaps' }) - sumSamples(before, 'apiserver_request_total', { verb: 'POST', resource: 'configmaps' });
  return {
    createMeanMs: mean('apiserver_request_duration_seconds', { verb: 'POST', resource: 'configmaps' }),
    storeRangeMeanMs: mean('kplane_apiserver_store_request_duration_seconds', { operation: 'range' }),
    storeTxnMeanMs: mean('kplane_apiserver_store_request_duration_seconds', { operation: 'txn' }),
    cpuMsPerCreate: creates === 0 ? null : (cpuSeconds * 1000) / creates,
    cpuCores: cpuSeconds / (elapsedMs / 1000),
  };
}

function printTable(rows: readonly (readonly string[])[]): void {
  const widths = (rows[0] ?? []).map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  for (const row of rows) process.stdout.write(`${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()}\n`);
}

function printCosts(title: string, lines: readonly CostLine[]): void {
  process.stdout.write(`\n${title}\n`);
  printTable([['self ms', 'share', 'where'], ...lines.map((line) => [line.selfMs.toFixed(0), `${(line.share * 100).toFixed(1)}%`, line.name])]);
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(process.env['KPLANE_BENCH_DIR'] ?? tmpdir(), 'kplane-bench-api-'));
  progress('starting 3 store replicas');
  const cluster = await ReplicaCluster.start({ size: 3, logLevel: 'warn' });
  let server: ApiServerChild | undefined;
  let api: ApiClient | undefined;
  try {
    const store = await cluster.client({ requestTimeoutMs: 30_000 });
    await cluster.leaderId();
    progress(`starting the API server process${cpuProfile ? ' under --cpu-prof' : ''}`);
    server = await startApiServerChild(cluster, dir, { cpuProfile });
    api = new ApiClient(server.url, server.ca, server.adminToken, CONCURRENCY);
    const creates = await measureCreates(api, store);
    const lists = await measureLists(api);
    const watch = await measureWatchFanOut(api);
    api.close();
    await server.stop();

    const ratio = creates.store.opsPerS === 0 ? null : round(creates.api.opsPerS / creates.store.opsPerS, 3);
    const sorted = (values: readonly number[]): number[] => [...values].sort((a, b) => a - b);
    const fullSorted = sorted(lists.fullMs);
    const pageSorted = sorted(lists.pageMs);
    const lagSorted = sorted(watch.lagMs);
    const rows: string[][] = [['measure', 'value', 'target']];
    rows.push([`store raw writes/s c=${CONCURRENCY} (${creates.valueBytes} B)`, creates.store.opsPerS.toFixed(0), '']);
    rows.push(['  p50 / p99 ms', `${creates.store.p50Ms.toFixed(1)} / ${creates.store.p99Ms.toFixed(1)}`, '']);
    rows.push([`API creates/s c=${CONCURRENCY} (ConfigMaps, HTTPS)`, creates.api.opsPerS.toFixed(0), '']);
    rows.push(['  p50 / p99 ms', `${creates.api.p50Ms.toFixed(1)} / ${creates.api.p99Ms.toFixed(1)}`, `p99 ≤ ${CREATE_P99_TARGET_MS}`]);
    rows.push(['  errors', String(creates.api.errors), '0']);
    rows.push(['ratio API creates / store writes', String(ratio ?? '-'), `≥ ${RATIO_TARGET}`]);
    const meanText = (ms: number | null): string => (ms === null ? '-' : ms.toFixed(1));
    rows.push(['  API server CPU ms per create / cores used', `${meanText(creates.server.cpuMsPerCreate)} / ${creates.server.cpuCores.toFixed(2)}`, '']);
    rows.push(['  mean ms inside the API server: create / store range / store txn', `${meanText(creates.server.createMeanMs)} / ${meanText(creates.server.storeRangeMeanMs)} / ${meanText(creates.server.storeTxnMeanMs)}`, '']);
    rows.push([`full list of ${LIST_PODS} pods p50 / p99 ms`, `${percentile(fullSorted, 50).toFixed(0)} / ${percentile(fullSorted, 99).toFixed(0)}`, '']);
    rows.push(['  body MB', (lists.fullBytes / 1e6).toFixed(1), '']);
    rows.push([`list page limit=${LIST_PAGE_LIMIT} p50 / p99 ms`, `${percentile(pageSorted, 50).toFixed(1)} / ${percentile(pageSorted, 99).toFixed(1)}`, '']);
    rows.push([`watch fan-out: ${WATCHERS} watchers x ${WATCH_EVENTS} events, delivered`, `${watch.delivered}/${watch.expected}`, 'all']);
    rows.push(['  deliveries/s', watch.deliveriesPerS.toFixed(0), '']);
    rows.push(['  lag p50 / p99 ms (create sent → event read)', `${percentile(lagSorted, 50).toFixed(0)} / ${percentile(lagSorted, 99).toFixed(0)}`, '']);
    rows.push(['  time to open the watches s', (watch.setupMs / 1000).toFixed(1), '']);
    printTable(rows);

    let profileFile: string | undefined;
    if (cpuProfile) {
      profileFile = (await readdir(dir)).find((name) => name.endsWith('.cpuprofile'));
      if (profileFile === undefined) progress('no .cpuprofile was written');
      else {
        const path = join(dir, profileFile);
        const createCosts = summarizeCpuProfile(path, 25, creates.apiWindow);
        progress(`profile: ${path} (${(createCosts.totalMs / 1000).toFixed(1)} s sampled in the measured create window)`);
        printCosts('API server, self time by function (the measured create window)', createCosts.byFunction);
        printCosts('API server, self time by file (creates)', createCosts.byFile.slice(0, 12));
        const watchCosts = summarizeCpuProfile(path, 15, watch.window);
        printCosts('API server, self time by function (watch fan-out)', watchCosts.byFunction);
      }
    }

    const json: Record<string, number | null> = {
      store_value_bytes: creates.valueBytes,
      store_write_c64_per_s: round(creates.store.opsPerS, 0),
      store_write_c64_p50_ms: round(creates.store.p50Ms),
      store_write_c64_p99_ms: round(creates.store.p99Ms),
      api_create_c64_per_s: round(creates.api.opsPerS, 0),
      api_create_c64_p50_ms: round(creates.api.p50Ms),
      api_create_c64_p99_ms: round(creates.api.p99Ms),
      api_create_errors: creates.api.errors,
      ratio_api_create_vs_store_write: ratio,
      api_server_create_mean_ms: creates.server.createMeanMs === null ? null : round(creates.server.createMeanMs),
      api_server_cpu_ms_per_create: creates.server.cpuMsPerCreate === null ? null : round(creates.server.cpuMsPerCreate, 2),
      api_server_cpu_cores: round(creates.server.cpuCores, 2),
      api_store_range_mean_ms: creates.server.storeRangeMeanMs === null ? null : round(creates.server.storeRangeMeanMs),
      api_store_txn_mean_ms: creates.server.storeTxnMeanMs === null ? null : round(creates.server.storeTxnMeanMs),
      list_pods: LIST_PODS,
      list_full_p50_ms: round(percentile(fullSorted, 50)),
      list_full_p99_ms: round(percentile(fullSorted, 99)),
      list_full_bytes: lists.fullBytes,
      list_page500_p50_ms: round(percentile(pageSorted, 50)),
      list_page500_p99_ms: round(percentile(pageSorted, 99)),
      watch_watchers: WATCHERS,
      watch_events: WATCH_EVENTS,
      watch_delivered_ratio: round(watch.delivered / watch.expected, 4),
      watch_deliveries_per_s: round(watch.deliveriesPerS, 0),
      watch_lag_p50_ms: round(percentile(lagSorted, 50)),
      watch_lag_p99_ms: round(percentile(lagSorted, 99)),
    };
    process.stdout.write(`${JSON.stringify(json)}\n`);
    if (profileFile !== undefined) progress(`the profile is kept in ${dir}`);
  } finally {
    api?.close();
    await server?.stop();
    await cluster.stopAll();
    if (!cpuProfile) await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  progress(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
