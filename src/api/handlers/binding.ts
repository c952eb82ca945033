// pods/binding: the scheduler's way to assign a pod to a node, once (409 if already bound or being
// deleted). Sets spec.nodeName and the PodScheduled condition.

import { isObject } from '../registry/types.js';
import { metadataOf } from '../storage/object-store.js';
import { causes, errors, successStatus } from '../status.js';
import { decodeObject } from './decode.js';
import type { ApiRequest, ApiResponse, HandlerContext } from './types.js';
import { type ResourceTarget, json, qualified, dryRunOf, checkKind, runAdmission } from './common.js';


export async function bind(context: HandlerContext, request: ApiRequest, target: ResourceTarget): Promise<ApiResponse> {
  const { definition } = target;
  const name = target.name ?? '';
  const dryRun = dryRunOf(request.query);
  const binding = decodeObject(request.body, request.headers['content-type']);
  checkKind(definition, binding, 'Binding', 'v1');
  const bindingName = metadataOf(binding)['name'];
  if (bindingName !== undefined && bindingName !== name) throw errors.badRequest(`the name of the object (${String(bindingName)}) does not match the name on the URL (${name})`);
  const bindingTarget = binding['target'];
  const nodeName = isObject(bindingTarget) ? bindingTarget['name'] : undefined;
  if (typeof nodeName !== 'string' || nodeName === '') throw errors.invalid('Binding', '', name, [causes.required('target.name')]);
  await context.objects.update(
    definition,
    target.namespace,
    name,
    (pod) => {
      const metadata = metadataOf(pod);
      if (metadata['deletionTimestamp'] !== undefined) throw errors.conflict(qualified(definition), name, `pod ${name} is being deleted, cannot be assigned to a host`);
      const spec = isObject(pod['spec']) ? pod['spec'] : {};
      if (typeof spec['nodeName'] === 'string' && spec['nodeName'] !== '') {
        throw errors.conflict(qualified(definition), name, `pod ${name} is already assigned to node "${spec['nodeName']}"`);
      }
      spec['nodeName'] = nodeName;
      pod['spec'] = spec;
      const status = isObject(pod['status']) ? pod['status'] : {};
      const conditions = Array.isArray(status['conditions']) ? status['conditions'].filter((c) => !(isObject(c) && c['type'] === 'PodScheduled')) : [];
      conditions.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: context.objects.timestamp() });
      status['conditions'] = conditions;
      pod['status'] = status;
      runAdmission(context, target, { newObject: binding });
      return pod;
    },
    { dryRun },
  );
  return json(201, successStatus());
}

