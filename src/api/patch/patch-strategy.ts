// How strategic merge patch treats each list of the built-in kinds: Kubernetes declares it per Go
// field with the `patchStrategy` and `patchMergeKey` tags (k8s.io/api's types.go). A list is
//  - merged item by item by a key field (containers by name, container ports by containerPort, ...),
//  - merged as a set of scalars (metadata.finalizers), or
//  - replaced as a whole: every list not named here (tolerations, taints, args, rules, ...).
// Lists are named by the field names from the object's root (no indices), so the same field name
// can mean different things in different places (a Service's ports by port, a container's by
// containerPort).

export type ListStrategy =
  | { readonly kind: 'merge-by-key'; readonly key: string }
  | { readonly kind: 'merge-scalars' }
  | { readonly kind: 'replace' };

const REPLACE: ListStrategy = { kind: 'replace' };
const byKey = (key: string): ListStrategy => ({ kind: 'merge-by-key', key });

const CONTAINER_LISTS = new Set(['containers', 'initContainers', 'ephemeralContainers']);

/** The strategy of the list at `fieldNames` (its path of field names from the object's root). */
export function listStrategyAt(fieldNames: readonly string[]): ListStrategy {
  const last = fieldNames[fieldNames.length - 1];
  const parent = fieldNames[fieldNames.length - 2];
  const inContainer = parent !== undefined && CONTAINER_LISTS.has(parent);
  switch (last) {
    // PodSpec
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'volumes':
    case 'imagePullSecrets':
    case 'schedulingGates':
    case 'resourceClaims':
      return parent === 'spec' ? byKey('name') : REPLACE;
    case 'hostAliases':
      return parent === 'spec' ? byKey('ip') : REPLACE;
    case 'topologySpreadConstraints':
      return parent === 'spec' ? byKey('topologyKey') : REPLACE;
    // Container
    case 'env':
      return inContainer ? byKey('name') : REPLACE;
    case 'volumeMounts':
      return inContainer ? byKey('mountPath') : REPLACE;
    case 'volumeDevices':
      return inContainer ? byKey('devicePath') : REPLACE;
    case 'ports':
      if (inContainer) return byKey('containerPort');
      // ServiceSpec.ports (a Service's spec is at the root).
      return parent === 'spec' && fieldNames.length === 2 ? byKey('port') : REPLACE;
    // ObjectMeta
    case 'ownerReferences':
      return parent === 'metadata' ? byKey('uid') : REPLACE;
    case 'finalizers':
      return parent === 'metadata' ? { kind: 'merge-scalars' } : REPLACE;
    // Status of every kind (pods, nodes, deployments, replica sets, namespaces, jobs, ...)
    case 'conditions':
      return parent === 'status' ? byKey('type') : REPLACE;
    case 'addresses':
      return parent === 'status' ? byKey('type') : REPLACE;
    // ServiceAccount
    case 'secrets':
      return fieldNames.length === 1 ? byKey('name') : REPLACE;
    default:
      return REPLACE;
  }
}
