// The actor half of the benchmark client. PLACEHOLDER until the actor runtime (src/actors/index.ts)
// exists: `actorRuntimeAvailable` is false and bench/actors.ts reports the actor figures as null.
import type { Logger } from 'pino';

type Measure = Promise<{ count: number; elapsedMs: number }>;
export const actorRuntimeAvailable = false;
const unavailable = (): never => {
  throw new Error('the actor runtime is not available yet');
};
export async function localTells(_log: Logger, _count: number): Measure {
  return unavailable();
}
export async function remoteAsks(_node: string, _secret: string, _log: Logger, _payload: string, _durationMs: number): Measure {
  return unavailable();
}
export async function remotePipelined(_node: string, _secret: string, _log: Logger, _payload: string, _count: number): Measure {
  return unavailable();
}
