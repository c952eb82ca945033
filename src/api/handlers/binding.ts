// pods/binding: the scheduler's way to assign a pod to a node, once (409 if already bound or being
// deleted). Sets spec.nodeName and the PodScheduled condition.
//
// No overcommit by construction (DESIGN.md invariant 4; docs/decisions/0005-no-overcommit-binding.md):
// the pod and the node's allocation ledger (src/scheduler/allocation-ledger.ts) are written in ONE
// store txn that compares both keys' mod revisions, after checking that the pod's requests fit beside
// the ledger's within the node's allocatable (the txn also compares the Node's revision, so the
// allocatable is current). A binding that does not fit is a 409 Conflict; a lost race on any of the
// three keys is retried from a fresh read.
//
// A pod CREATED with spec.nodeName set goes through the same check (`createOnNode`, called from the
// create pipeline): the new pod and the ledger are written in one txn, and a pod that does not fit is
// refused with the same 409 (decision 0005). `placeOnNode` is the check and txn part both share.

import { isObject, type JsonObject, type ResourceDefinition } from '../registry/types.js';
import { metadataOf, MAX_UPDATE_ATTEMPTS, storeCall } from '../storage/object-store.js';
import { causes, errors, successStatus } from '../status.js';
import { decodeObject } from './decode.js';
import type { ApiRequest, ApiResponse, HandlerContext } from './types.js';
import { type ResourceTarget, json, qualified, dryRunOf, checkKind, runAdmission } from './common.js';
import { committedResources, decodeLedger, encodeLedger, isReleased, ledgerKey, type EntryPodState, type LedgerEntry } from '../../scheduler/allocation-ledger.js';
import { QuantityError } from '../../scheduler/quantity.js';
import { insufficientResources, isTerminal, nodeAllocatable, podRequests, type Resources } from '../../scheduler/resources.js';
import { nodes as nodeDefinition } from '../registry/core.js';
import type { Compare, RequestOp } from '../../store/commands.js';

const encoder = new TextEncoder();

/** The stored form of an object: its JSON without metadata.resourceVersion (as ObjectStore writes it). */
function encodeStored(object: JsonObject): Uint8Array {
  const metadata: JsonObject = { ...metadataOf(object) };
  delete metadata['resourceVersion'];
  return encoder.encode(JSON.stringify({ ...object, metadata }));
}

function requestsOf(pod: JsonObject, name: string): Resources {
  try {
    return podRequests(pod);
  } catch (error) {
    if (error instanceof QuantityError) throw errors.invalid('Pod', '', name, [causes.invalid('spec.containers[*].resources', error.text, error.message)]);
    throw error;
  }
}

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
  const objects = context.objects;
  const podKey = objects.key(definition, target.namespace, name);
  const ledgerPodKey = `${target.namespace ?? ''}/${name}`;

  for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
    const current = await objects.read(definition, target.namespace, name);
    if (current === undefined) throw errors.notFound(qualified(definition), name);
    const pod = current.object;
    const metadata = metadataOf(pod);
    if (metadata['deletionTimestamp'] !== undefined) throw errors.conflict(qualified(definition), name, `pod ${name} is being deleted, cannot be assigned to a host`);
    const spec = isObject(pod['spec']) ? pod['spec'] : {};
    if (typeof spec['nodeName'] === 'string' && spec['nodeName'] !== '') {
      throw errors.conflict(qualified(definition), name, `pod ${name} is already assigned to node "${spec['nodeName']}"`);
    }
    runAdmission(context, target, { newObject: binding });
    const requests = requestsOf(pod, name);

    const placement = await placeOnNode(context, definition, { key: ledgerPodKey, name, uid: String(metadata['uid'] ?? '') }, nodeName, requests);

    spec['nodeName'] = nodeName;
    pod['spec'] = spec;
    const status = isObject(pod['status']) ? pod['status'] : {};
    const conditions = Array.isArray(status['conditions']) ? status['conditions'].filter((c) => !(isObject(c) && c['type'] === 'PodScheduled')) : [];
    conditions.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: objects.timestamp() });
    status['conditions'] = conditions;
    pod['status'] = status;
    if (dryRun) return json(201, successStatus());

    const result = await storeCall(() =>
      objects.store.txn({
        compare: [{ key: podKey, target: 'modRevision', result: 'equal', value: current.modRevision }, ...placement.compare],
        success: [{ put: { key: podKey, value: encodeStored(pod) } }, placement.ledgerPut],
        failure: [],
      }),
    );
    if (result.succeeded) return json(201, successStatus());
    // Another writer moved the pod or the ledger: read both again.
  }
  throw errors.conflict(qualified(definition), name, 'too many concurrent bindings, please try again');
}

/**
 * Stores a new pod whose spec.nodeName is already set (a DaemonSet's pod, a person's static choice)
 * with the same no-overcommit check as a binding: the pod and the node's ledger are written in one
 * txn that also requires the pod's key to be absent. 409 `does not fit on node` when it does not fit,
 * 409 AlreadyExists when the name is taken. `pod` has been defaulted, validated and admitted.
 */
export async function createOnNode(context: HandlerContext, definition: ResourceDefinition, namespace: string | undefined, pod: JsonObject, nodeName: string, dryRun: boolean): Promise<JsonObject> {
  const objects = context.objects;
  // A dry-run create fills the server-owned metadata (uid, creationTimestamp, generation) and writes nothing.
  await objects.create(definition, namespace, pod, { dryRun: true });
  const metadata = metadataOf(pod);
  const name = String(metadata['name'] ?? '');
  const requests = requestsOf(pod, name);
  const podKey = objects.key(definition, namespace, name);
  const podOnNode = { key: `${namespace ?? ''}/${name}`, name, uid: String(metadata['uid'] ?? '') };
  for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
    const placement = await placeOnNode(context, definition, podOnNode, nodeName, requests);
    if (dryRun) return pod;
    const result = await storeCall(() =>
      objects.store.txn({
        // createRevision 0: the name is free (as ObjectStore.create checks).
        compare: [{ key: podKey, target: 'createRevision', result: 'equal', value: 0 }, ...placement.compare],
        success: [{ put: { key: podKey, value: encodeStored(pod) } }, placement.ledgerPut],
        failure: [],
      }),
    );
    if (result.succeeded) {
      metadata['resourceVersion'] = String(result.header.revision);
      return pod;
    }
    if ((await objects.read(definition, namespace, name)) !== undefined) throw errors.alreadyExists(qualified(definition), name);
    // The ledger or the node moved: read them again.
  }
  throw errors.conflict(qualified(definition), name, 'too many concurrent writes to the node, please try again');
}

/** A pod as its node's ledger knows it: ledger key (namespace/name), name, uid. */
interface PodOnNode {
  readonly key: string;
  readonly name: string;
  readonly uid: string;
}

/** What a write placing a pod on a node adds to its store txn. */
interface NodePlacement {
  /** The node's and the ledger's mod revisions as read (0 for a missing key). */
  readonly compare: readonly Compare[];
  /** The ledger with the pod added (and released entries dropped). */
  readonly ledgerPut: RequestOp;
}

/**
 * The no-overcommit check shared by bindings and creates with spec.nodeName: reads the Node and its
 * ledger, refuses (409) if the pod's requests do not fit beside the ledger within the node's
 * allocatable (after dropping released entries), and otherwise returns the compares and the ledger
 * write that the caller puts in the same txn as the pod.
 */
async function placeOnNode(context: HandlerContext, definition: ResourceDefinition, pod: PodOnNode, nodeName: string, requests: Resources): Promise<NodePlacement> {
  const objects = context.objects;
  const ledgerStoreKey = ledgerKey(nodeName);
  // The node's allocatable (a node not registered yet limits nothing, as Kubernetes allows binding
  // to it) and the ledger of what bindings already committed there.
  const node = await objects.read(nodeDefinition, undefined, nodeName);
  const allocatable = node === undefined ? nodeAllocatable({}) : nodeAllocatable(node.object);
  const ledgerRead = await storeCall(() => objects.store.range({ key: ledgerStoreKey }));
  const ledgerKv = ledgerRead.kvs[0];
  const ledger = decodeLedger(ledgerKv?.value);
  ledger.delete(pod.key);
  let reasons = insufficientResources(requests, committedResources(ledger), allocatable);
  if (reasons.length > 0 && (await releaseFinished(context, definition, ledger)) > 0) reasons = insufficientResources(requests, committedResources(ledger), allocatable);
  if (reasons.length > 0) {
    throw errors.conflict(qualified(definition), pod.name, `pod ${pod.name} does not fit on node "${nodeName}": ${reasons.join(', ')}`);
  }
  const entry: LedgerEntry = { uid: pod.uid, cpuMillis: requests.cpuMillis, memoryBytes: requests.memoryBytes };
  ledger.set(pod.key, entry);
  return {
    compare: [
      // A missing key's modRevision is 0, so this also guards the ledger's creation.
      { key: ledgerStoreKey, target: 'modRevision', result: 'equal', value: ledgerKv?.modRevision ?? 0 },
      // The allocatable checked is the node's current one (node writes are rare: registration, cordon).
      { key: objects.key(nodeDefinition, undefined, nodeName), target: 'modRevision', result: 'equal', value: node?.modRevision ?? 0 },
    ],
    ledgerPut: { put: { key: ledgerStoreKey, value: encodeLedger(ledger) } },
  };
}

/**
 * Drops ledger entries whose pods are gone, replaced (another uid) or finished: none of these can
 * hold resources again, so dropping them needs no coordination. Returns how many were dropped.
 */
async function releaseFinished(context: HandlerContext, definition: ResourceDefinition, ledger: Map<string, LedgerEntry>): Promise<number> {
  const states = await Promise.all(
    [...ledger].map(async ([key, entry]): Promise<[string, LedgerEntry, EntryPodState]> => {
      const slash = key.indexOf('/');
      const stored = await context.objects.read(definition, key.slice(0, slash), key.slice(slash + 1));
      if (stored === undefined) return [key, entry, { kind: 'gone' }];
      return [key, entry, { kind: 'present', uid: String(metadataOf(stored.object)['uid'] ?? ''), terminal: isTerminal(stored.object) }];
    }),
  );
  let released = 0;
  for (const [key, entry, state] of states) {
    if (isReleased(entry, state)) {
      ledger.delete(key);
      released++;
    }
  }
  return released;
}
