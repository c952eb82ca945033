// The "zero acknowledged writes lost" check of the chaos scenarios, on its own so that its message is
// plain (the linearizability checker would also reject a lost write, with a longer explanation).
// After the faults heal, every key is read once more. Its final value must come from a write that is
// not followed, in real time, by an acknowledged write: if an acknowledged write began after the
// write of the final value had returned, that later write was lost. For an absent key the candidate
// writers are the deletes (or "never created", when nothing was ever acknowledged on it); a value
// nobody wrote, or one whose write was refused, is a violation too.
import type { History, Operation } from '../linearizability/history.js';

function isWrite(operation: Operation): boolean {
  return operation.input.kind !== 'get';
}

/** Acknowledged: answered, and (for a compare-and-set) applied. */
function isAcknowledgedWrite(operation: Operation): boolean {
  if (!isWrite(operation) || operation.output === undefined) return false;
  return operation.output.kind !== 'cas' || operation.output.ok;
}

function describe(operation: Operation): string {
  const input = operation.input;
  const what = input.kind === 'cas' ? `cas ${JSON.stringify(input.expected)} → ${JSON.stringify(input.value)}` : input.kind === 'put' ? `put ${JSON.stringify(input.value)}` : input.kind;
  const end = operation.returnedAtMs === undefined ? 'no answer' : `${operation.returnedAtMs.toFixed(0)} ms`;
  return `client ${operation.clientId} ${what} [${operation.invokedAtMs.toFixed(0)} ms … ${end}]`;
}

/** Violations, one line each (empty: nothing acknowledged was lost). */
export function findLostWrites(history: History, finalValues: ReadonlyMap<string, string | null>): string[] {
  const writesByKey = new Map<string, Operation[]>();
  for (const operation of history) {
    if (!isWrite(operation)) continue;
    const list = writesByKey.get(operation.input.key) ?? [];
    list.push(operation);
    writesByKey.set(operation.input.key, list);
  }
  const violations: string[] = [];
  for (const [key, finalValue] of finalValues) {
    const writes = writesByKey.get(key) ?? [];
    const acknowledged = writes.filter(isAcknowledgedWrite);
    let producers: Operation[];
    if (finalValue === null) {
      producers = writes.filter((operation) => operation.input.kind === 'delete');
      if (acknowledged.length === 0) continue; // never created for sure: absent is a valid outcome
    } else {
      producers = writes.filter((operation) => (operation.input.kind === 'cas' || operation.input.kind === 'put') && operation.input.value === finalValue);
      if (producers.length === 0) {
        violations.push(`${key}: final value ${JSON.stringify(finalValue)} was never written`);
        continue;
      }
      const refused = producers.find((operation) => operation.output?.kind === 'cas' && !operation.output.ok);
      if (refused !== undefined) {
        violations.push(`${key}: final value ${JSON.stringify(finalValue)} is from a write the API refused: ${describe(refused)}`);
        continue;
      }
    }
    const explained = producers.some((producer) => {
      const returnedAtMs = producer.returnedAtMs ?? Number.POSITIVE_INFINITY;
      return !acknowledged.some((later) => later !== producer && later.invokedAtMs > returnedAtMs);
    });
    if (!explained) {
      const latestProducer = producers.reduce<Operation | undefined>((best, candidate) => (best === undefined || (candidate.returnedAtMs ?? Infinity) > (best.returnedAtMs ?? Infinity) ? candidate : best), undefined);
      const after = latestProducer?.returnedAtMs ?? Number.NEGATIVE_INFINITY;
      const lost = acknowledged.filter((operation) => operation.invokedAtMs > after).map(describe);
      violations.push(`${key}: final value ${JSON.stringify(finalValue)}, but acknowledged writes that began after it was written are gone: ${lost.join('; ')}`);
    }
  }
  return violations;
}
