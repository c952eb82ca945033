// Resource usage of a process node, measured from Linux's /proc: each container's process group
// (containers are spawned detached, so the group id is the container's pid and every process it
// starts is counted) and the whole machine, which is the node. CPU is a rate: the CPU time used
// between two reads, divided by the time between them; the first read of a group or of the machine
// averages over its whole life instead. Memory is the resident set (groups) or MemTotal minus
// MemAvailable (machine). Where /proc cannot be read, the figures are zero.

import { readdirSync, readFileSync } from 'node:fs';
import type { Clock } from '../actors/clock.js';
import type { Usage } from './stats.js';

/** Linux's USER_HZ: /proc counts CPU time in ticks of 1/100 s. */
const TICKS_PER_SECOND = 100;
const PAGE_BYTES = 4096;

interface Sample {
  readonly ticks: number;
  readonly atMs: number;
}

interface ProcessTimes {
  readonly group: number;
  readonly ticks: number;
  readonly startTicks: number;
  readonly residentPages: number;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** One /proc/<pid>/stat line: the fields after the command name (which may hold spaces and parentheses). */
export function parseProcessStat(text: string): ProcessTimes | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = text.slice(close + 2).trim().split(/\s+/);
  // After ")": state(0) ppid(1) pgrp(2) … utime(11) stime(12) … starttime(19) vsize(20) rss(21)
  const group = Number(fields[2]);
  const ticks = Number(fields[11]) + Number(fields[12]);
  const startTicks = Number(fields[19]);
  const residentPages = Number(fields[21]);
  if (![group, ticks, startTicks, residentPages].every(Number.isFinite)) return undefined;
  return { group, ticks, startTicks, residentPages };
}

/** The first line of /proc/stat: busy and total CPU ticks of the whole machine, all cores. */
export function parseMachineCpu(text: string): { readonly busy: number; readonly total: number } | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith('cpu '));
  if (line === undefined) return undefined;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  if (values.length < 4 || !values.every(Number.isFinite)) return undefined;
  const idle = (values[3] ?? 0) + (values[4] ?? 0); // idle + iowait
  // guest and guest_nice (8, 9) are already counted in user and nice.
  const total = values.slice(0, 8).reduce((sum, value) => sum + value, 0);
  return { busy: total - idle, total };
}

/** MemTotal − MemAvailable from /proc/meminfo, in bytes. */
export function parseMachineMemory(text: string): number | undefined {
  const field = (name: string): number | undefined => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(text);
    return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
  };
  const total = field('MemTotal');
  const available = field('MemAvailable');
  return total === undefined || available === undefined ? undefined : total - available;
}

export class ProcessUsage {
  private readonly groups = new Map<number, Sample>();
  private machine: { readonly busy: number; readonly total: number } | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly proc = '/proc',
  ) {}

  /** Usage of each of `groups` (process group ids), summed over the processes in it. */
  groupUsage(groups: readonly number[]): Map<number, Usage> {
    const wanted = new Set(groups);
    const totals = new Map<number, { ticks: number; startTicks: number; residentPages: number }>();
    let entries: string[] = [];
    try {
      entries = readdirSync(this.proc);
    } catch {
      entries = [];
    }
    for (const entry of entries) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = readText(`${this.proc}/${entry}/stat`);
      const times = stat === undefined ? undefined : parseProcessStat(stat);
      if (times === undefined || !wanted.has(times.group)) continue;
      const total = totals.get(times.group) ?? { ticks: 0, startTicks: Infinity, residentPages: 0 };
      total.ticks += times.ticks;
      total.startTicks = Math.min(total.startTicks, times.startTicks);
      total.residentPages += times.residentPages;
      totals.set(times.group, total);
    }
    const nowMs = this.clock.now();
    const uptimeSeconds = Number((readText(`${this.proc}/uptime`) ?? '').split(' ')[0]);
    const usage = new Map<number, Usage>();
    for (const group of groups) {
      const total = totals.get(group);
      if (total === undefined) {
        this.groups.delete(group);
        usage.set(group, { cpuNanoCores: 0, memoryBytes: 0 });
        continue;
      }
      const previous = this.groups.get(group);
      this.groups.set(group, { ticks: total.ticks, atMs: nowMs });
      let seconds: number;
      let ticks: number;
      if (previous !== undefined && nowMs > previous.atMs && total.ticks >= previous.ticks) {
        seconds = (nowMs - previous.atMs) / 1000;
        ticks = total.ticks - previous.ticks;
      } else {
        // First look: the average since the group's oldest process started.
        seconds = Number.isFinite(uptimeSeconds) ? uptimeSeconds - total.startTicks / TICKS_PER_SECOND : 0;
        ticks = total.ticks;
      }
      const cpuNanoCores = seconds > 0 ? Math.round(((ticks / TICKS_PER_SECOND) / seconds) * 1e9) : 0;
      usage.set(group, { cpuNanoCores, memoryBytes: total.residentPages * PAGE_BYTES });
    }
    for (const group of [...this.groups.keys()]) if (!wanted.has(group)) this.groups.delete(group);
    return usage;
  }

  /** The whole machine's usage (a process node is the machine it runs on). */
  machineUsage(): Usage {
    const cpu = parseMachineCpu(readText(`${this.proc}/stat`) ?? '');
    const memoryBytes = parseMachineMemory(readText(`${this.proc}/meminfo`) ?? '') ?? 0;
    if (cpu === undefined) return { cpuNanoCores: 0, memoryBytes };
    const previous = this.machine;
    this.machine = cpu;
    const busy = previous === undefined ? cpu.busy : cpu.busy - previous.busy;
    const total = previous === undefined ? cpu.total : cpu.total - previous.total;
    // total ticks span every core: busy / total is the busy share of all cores.
    const cores = this.cores();
    const cpuNanoCores = total > 0 ? Math.round((busy / total) * cores * 1e9) : 0;
    return { cpuNanoCores, memoryBytes };
  }

  private cores(): number {
    const text = readText(`${this.proc}/stat`) ?? '';
    const count = text.split('\n').filter((line) => /^cpu\d+ /.test(line)).length;
    return Math.max(1, count);
  }
}
