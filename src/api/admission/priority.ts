// The Priority admission (Kubernetes' plugin/pkg/admission/priority), on pod creates: the pod's
// priorityClassName resolves to spec.priority and spec.preemptionPolicy; no name takes the
// globalDefault class (the lowest-valued one if a race left several) or priority 0; an unknown
// class, or a pod that sets a priority or preemptionPolicy other than its class gives, is 403
// Forbidden. On PriorityClass writes it keeps globalDefault to one class.

import { priorityclasses } from '../registry/scheduling.js';
import { isObject, type JsonObject } from '../registry/types.js';
import { metadataOf, type ObjectStore } from '../storage/object-store.js';
import type { PrefixCache } from '../storage/prefix-cache.js';
import { errors } from '../status.js';

/** Kubernetes' DefaultPriorityWhenNoDefaultClassExists. */
export const DEFAULT_POD_PRIORITY = 0;

function forbiddenPod(name: string, message: string): Error {
  return errors.forbidden(`pods "${name}" is forbidden: ${message}`, { name, group: '', kind: 'pods' });
}

async function defaultClass(objects: ObjectStore, cache?: PrefixCache): Promise<JsonObject | undefined> {
  let found: JsonObject | undefined;
  const classes = cache?.snapshot();
  for (const candidate of classes === undefined ? (await objects.list(priorityclasses, undefined)).items : classes.values()) {
    if (candidate['globalDefault'] !== true) continue;
    if (found === undefined || Number(candidate['value']) < Number(found['value'])) found = candidate;
  }
  return found;
}

/** Resolve a pod's priority in place (before it is stored); `cache`: the PriorityClasses, when kept. */
export async function admitPodPriority(objects: ObjectStore, pod: JsonObject, cache?: PrefixCache): Promise<void> {
  const spec = isObject(pod['spec']) ? pod['spec'] : {};
  pod['spec'] = spec;
  const podName = String(metadataOf(pod)['name'] ?? '');
  const className = typeof spec['priorityClassName'] === 'string' ? spec['priorityClassName'] : '';
  let priority = DEFAULT_POD_PRIORITY;
  let preemptionPolicy: string | undefined;
  if (className === '') {
    const fallback = await defaultClass(objects, cache);
    if (fallback !== undefined) {
      spec['priorityClassName'] = metadataOf(fallback)['name'];
      priority = Number(fallback['value']);
      preemptionPolicy = typeof fallback['preemptionPolicy'] === 'string' ? fallback['preemptionPolicy'] : undefined;
    }
  } else {
    // A class the cache lacks may be a moment old: the store decides.
    const priorityClass = cache?.snapshot()?.get(className) ?? (await objects.read(priorityclasses, undefined, className))?.object;
    if (priorityClass === undefined) throw forbiddenPod(podName, `no PriorityClass with name ${className} was found`);
    priority = Number(priorityClass['value']);
    preemptionPolicy = typeof priorityClass['preemptionPolicy'] === 'string' ? priorityClass['preemptionPolicy'] : undefined;
  }
  const given = spec['priority'];
  if (given !== undefined && given !== null && given !== priority) {
    throw forbiddenPod(podName, `the integer value of priority (${String(given)}) must not be provided in pod spec; priority admission controller computed ${priority} from the given PriorityClass name`);
  }
  spec['priority'] = priority;
  const policy = preemptionPolicy ?? 'PreemptLowerPriority';
  const givenPolicy = spec['preemptionPolicy'];
  if (givenPolicy !== undefined && givenPolicy !== null && givenPolicy !== policy) {
    throw forbiddenPod(podName, `the string value of PreemptionPolicy (${String(givenPolicy)}) must not be provided in pod spec; priority admission controller computed ${policy} from the given PriorityClass name`);
  }
  spec['preemptionPolicy'] = policy;
}

/** A PriorityClass marked globalDefault may not join another one that is. */
export async function admitPriorityClass(objects: ObjectStore, priorityClass: JsonObject): Promise<void> {
  if (priorityClass['globalDefault'] !== true) return;
  const name = String(metadataOf(priorityClass)['name'] ?? '');
  const existing = await defaultClass(objects);
  const existingName = existing === undefined ? undefined : String(metadataOf(existing)['name']);
  if (existingName !== undefined && existingName !== name) {
    throw errors.forbidden(`priorityclasses.scheduling.k8s.io "${name}" is forbidden: PriorityClass ${existingName} is already marked as default. Only one default can exist`, { name, group: 'scheduling.k8s.io', kind: 'priorityclasses' });
  }
}
