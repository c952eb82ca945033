// The actor half of the benchmark peer: filled in once the runtime exists.
import type { Logger } from 'pino';

export async function startActorPeer(_secret: string, _log: Logger): Promise<string> {
  return '';
}
