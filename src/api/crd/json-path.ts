// JSONPath-lite for a CRD's additionalPrinterColumns: `.spec.replicas`, `.status.conditions[0].type`,
// `.metadata.labels.app` (also `{.spec.x}` as kubectl writes it). Nothing else of JSONPath
// (filters, wildcards, ranges) is supported; such paths are refused when the CRD is validated.

import { isObject } from '../registry/types.js';

type Step = { readonly field: string } | { readonly index: number };

const STEP = /^(?:\.([A-Za-z0-9_$-]+)|\[([0-9]+)\]|\['([^']+)'\])/;

/** The steps of a JSONPath-lite expression, or undefined when it is not one. */
export function parseJsonPath(path: string): Step[] | undefined {
  let rest = path.trim();
  if (rest.startsWith('{') && rest.endsWith('}')) rest = rest.slice(1, -1).trim();
  if (!rest.startsWith('.')) return undefined;
  const steps: Step[] = [];
  while (rest.length > 0) {
    const match = STEP.exec(rest);
    if (match === null) return undefined;
    if (match[1] !== undefined) steps.push({ field: match[1] });
    else if (match[2] !== undefined) steps.push({ index: Number(match[2]) });
    else steps.push({ field: match[3] ?? '' });
    rest = rest.slice(match[0].length);
  }
  return steps.length === 0 ? undefined : steps;
}

/** The value at `path` in `object` (undefined when absent or the path is not JSONPath-lite). */
export function valueAtJsonPath(object: unknown, path: string): unknown {
  const steps = parseJsonPath(path);
  if (steps === undefined) return undefined;
  let current: unknown = object;
  for (const step of steps) {
    if ('field' in step) current = isObject(current) ? current[step.field] : undefined;
    else current = Array.isArray(current) ? (current as unknown[])[step.index] : undefined;
    if (current === undefined) return undefined;
  }
  return current;
}
