// The timeline of one chaos scenario: what happened when (cluster up, workload, each fault and heal,
// checks), on the workload's clock, so a failure can be read as a story. The workload's error tallies
// and acknowledgements per second are folded in when it is printed.
import type { ErrorTally } from './workload.js';

export interface TimelineEvent {
  readonly atMs: number;
  readonly kind: 'cluster' | 'workload' | 'fault' | 'heal' | 'check' | 'note';
  readonly text: string;
}

export class Timeline {
  readonly events: TimelineEvent[] = [];

  constructor(private readonly now: () => number) {}

  note(kind: TimelineEvent['kind'], text: string): void {
    this.events.push({ atMs: this.now(), kind, text });
  }

  /** The events in order, then the errors the clients saw and their acknowledged calls per second. */
  format(errors: ReadonlyMap<string, ErrorTally>, acknowledgedPerSecond: readonly number[]): string {
    const lines = this.events.map((event) => `${formatMs(event.atMs)}  ${event.kind.padEnd(8)} ${event.text}`);
    const tallies = [...errors.entries()].sort((a, b) => a[1].firstAtMs - b[1].firstAtMs);
    for (const [reason, tally] of tallies) {
      lines.push(`${formatMs(tally.firstAtMs)}  errors   ${reason}: ${tally.count} times until ${formatMs(tally.lastAtMs).trim()}`);
    }
    lines.sort();
    lines.push(`acknowledged calls per second: ${acknowledgedPerSecond.join(' ')}`);
    return lines.join('\n');
  }
}

function formatMs(ms: number): string {
  return `${(ms / 1000).toFixed(3).padStart(8)} s`;
}
