// Reads a V8 .cpuprofile (what `node --cpu-prof` writes) and sums self time by function and by
// file, so a benchmark can print where a process spent its CPU without opening DevTools.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

interface CpuProfile {
  /** Microseconds on the monotonic clock (what process.hrtime counts in nanoseconds, on Linux). */
  readonly startTime: number;
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface CostLine {
  readonly name: string;
  readonly selfMs: number;
  readonly share: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  readonly byFunction: readonly CostLine[];
  readonly byFile: readonly CostLine[];
}

/** Shortens a script URL to what tells files apart: node:internal names, node_modules/pkg, or dist/… paths. */
function shortFile(url: string): string {
  if (url === '') return '(native / V8)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) return url.slice(modules + 'node_modules/'.length);
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + '/dist/'.length);
  return url.replace(/^file:\/\//, '');
}

function top(costs: Map<string, number>, totalMs: number, count: number): CostLine[] {
  return [...costs.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, selfMs]) => ({ name, selfMs, share: totalMs === 0 ? 0 : selfMs / totalMs }));
}

/** A window of the monotonic clock in microseconds (`process.hrtime.bigint() / 1000n`). */
export interface ProfileWindow {
  readonly fromUs: number;
  readonly toUs: number;
}

/** Self time by function and by file, over the samples inside `window` (all of them without one). */
export function summarizeCpuProfile(path: string, count = 15, window?: ProfileWindow): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const functions = new Map<string, number>();
  const files = new Map<string, number>();
  let totalMs = 0;
  let timeUs = profile.startTime;
  profile.samples.forEach((id, index) => {
    const node = byId.get(id);
    const deltaUs = profile.timeDeltas[index] ?? 0;
    timeUs += deltaUs;
    const ms = deltaUs / 1000;
    if (node === undefined) return;
    if (window !== undefined && (timeUs < window.fromUs || timeUs > window.toUs)) return;
    totalMs += ms;
    const frame = node.callFrame;
    const file = shortFile(frame.url);
    const name = `${frame.functionName === '' ? '(anonymous)' : frame.functionName} ${file}${frame.url === '' ? '' : `:${frame.lineNumber + 1}`}`;
    functions.set(name, (functions.get(name) ?? 0) + ms);
    files.set(file, (files.get(file) ?? 0) + ms);
  });
  return { totalMs, byFunction: top(functions, totalMs, count), byFile: top(files, totalMs, count) };
}
