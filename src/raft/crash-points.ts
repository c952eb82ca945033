// Named crash points in the storage paths. In production they are no-ops; a test harness arms one
// (or a real-process test sets KPLANE_CRASH_POINT=<name>) so the process "dies" exactly there, and the
// test then reopens the storage and checks that nothing acknowledged was lost.
// In-process arming throws CrashPointError (the caller's state is then unusable, like a dead process);
// the env-var form kills the process with SIGKILL so no cleanup code runs.
import { CrashPointError } from './storage-errors.js';

export const CRASH_POINT_NAMES = [
  'wal.after-write-before-sync',
  'wal.after-sync',
  'wal.after-segment-create',
  'wal.before-segment-remove',
  'snapshot.before-rename',
  'snapshot.after-rename',
] as const;
export type CrashPointName = (typeof CRASH_POINT_NAMES)[number];

export const CRASH_POINT_ENV = 'KPLANE_CRASH_POINT';

export interface CrashPoints {
  /** Called by storage code when it passes `name`; returns normally unless that point is armed. */
  reach(name: CrashPointName): void;
}

/** Production: every point is a no-op. */
export const noCrashPoints: CrashPoints = { reach: () => {} };

/** A test harness's crash points: arm one, optionally after it has been passed `skip` times. */
export class ArmedCrashPoints implements CrashPoints {
  private armed: CrashPointName | undefined;
  private skip = 0;
  /** How many times each point was passed (armed or not): lets tests check a path was taken. */
  readonly passed = new Map<CrashPointName, number>();

  arm(name: CrashPointName, skip = 0): void {
    this.armed = name;
    this.skip = skip;
  }

  disarm(): void {
    this.armed = undefined;
  }

  reach(name: CrashPointName): void {
    this.passed.set(name, (this.passed.get(name) ?? 0) + 1);
    if (this.armed !== name) return;
    if (this.skip > 0) {
      this.skip--;
      return;
    }
    this.armed = undefined;
    throw new CrashPointError(name);
  }
}

/**
 * Real-process tests: KPLANE_CRASH_POINT=<name> kills this process with SIGKILL when it first reaches that
 * point; KPLANE_CRASH_POINT=<name>@<n> lets it pass n times first.
 */
export function crashPointsFromEnv(env: NodeJS.ProcessEnv = process.env): CrashPoints {
  const value = env[CRASH_POINT_ENV];
  if (value === undefined || value === '') return noCrashPoints;
  const [name = '', skipText = '0'] = value.split('@');
  let skip = Number(skipText);
  if (!(CRASH_POINT_NAMES as readonly string[]).includes(name) || !Number.isInteger(skip) || skip < 0) {
    throw new Error(`${CRASH_POINT_ENV}=${value} is not <crash point>[@<passes>]; known points: ${CRASH_POINT_NAMES.join(', ')}`);
  }
  return {
    reach(point) {
      if (point !== name) return;
      if (skip > 0) {
        skip--;
        return;
      }
      process.kill(process.pid, 'SIGKILL');
    },
  };
}
