// The registry entries a CustomResourceDefinition stands for: one ResourceDefinition per served
// version, with the CRD's names, scope, subresources and printer columns; defaulting prunes unknown
// fields and validation checks the version's openAPIV3Schema. All versions share one storage
// prefix (conversion strategy None: objects are stored as written).

import { READ_WRITE_VERBS, STATUS_VERBS, isObject, objectsOf, stringField, type JsonObject, type PrinterColumn, type ResourceDefinition, type ScalePaths, type SubresourceDefinition } from '../registry/types.js';
import { customResourceSchema, pruneCustomResource, validateCustomResource } from './structural.js';

const STATUS: SubresourceDefinition = { name: 'status', verbs: STATUS_VERBS };
const SCALE: SubresourceDefinition = { name: 'scale', verbs: STATUS_VERBS, kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' } };

/** The scale subresource of a CRD version, carrying the paths its subresources.scale names. */
function scaleSubresource(scale: JsonObject): SubresourceDefinition {
  const labelSelectorPath = stringField(scale, 'labelSelectorPath');
  const scalePaths: ScalePaths = {
    specReplicasPath: stringField(scale, 'specReplicasPath') ?? '.spec.replicas',
    statusReplicasPath: stringField(scale, 'statusReplicasPath') ?? '.status.replicas',
    ...(labelSelectorPath === undefined ? {} : { labelSelectorPath }),
  };
  return { ...SCALE, scalePaths };
}

const PRINTER_TYPES: ReadonlySet<string> = new Set(['string', 'integer', 'number', 'boolean', 'date']);

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((entry): entry is string => typeof entry === 'string') : [];
}

function printerColumnsOf(version: JsonObject): PrinterColumn[] {
  return objectsOf(version['additionalPrinterColumns']).flatMap((column) => {
    const name = stringField(column, 'name');
    const type = stringField(column, 'type');
    const jsonPath = stringField(column, 'jsonPath');
    if (name === undefined || type === undefined || jsonPath === undefined || !PRINTER_TYPES.has(type)) return [];
    const description = stringField(column, 'description');
    const format = stringField(column, 'format');
    const priority = column['priority'];
    return [
      {
        name,
        type: type as PrinterColumn['type'],
        jsonPath,
        ...(description === undefined ? {} : { description }),
        ...(format === undefined ? {} : { format }),
        ...(typeof priority === 'number' ? { priority } : {}),
      },
    ];
  });
}

/** The served versions of a stored CRD as registry entries (empty when the CRD is unusable). */
export function customResourceDefinitions(crd: JsonObject): ResourceDefinition[] {
  const spec = crd['spec'];
  if (!isObject(spec) || !isObject(spec['names'])) return [];
  const names = spec['names'];
  const group = stringField(spec, 'group');
  const plural = stringField(names, 'plural');
  const kind = stringField(names, 'kind');
  if (group === undefined || plural === undefined || kind === undefined) return [];
  return objectsOf(spec['versions']).flatMap((version): ResourceDefinition[] => {
    const name = stringField(version, 'name');
    const schemaHolder = version['schema'];
    const openApi = isObject(schemaHolder) && isObject(schemaHolder['openAPIV3Schema']) ? schemaHolder['openAPIV3Schema'] : undefined;
    if (name === undefined || version['served'] !== true || openApi === undefined) return [];
    const subresources = isObject(version['subresources']) ? version['subresources'] : {};
    const hasStatus = isObject(subresources['status']);
    const scale = subresources['scale'];
    const columns = printerColumnsOf(version);
    return [
      {
        group,
        version: name,
        kind,
        listKind: stringField(names, 'listKind') ?? `${kind}List`,
        plural,
        singular: stringField(names, 'singular') ?? kind.toLowerCase(),
        shortNames: stringList(names['shortNames']),
        namespaced: spec['scope'] !== 'Cluster',
        verbs: READ_WRITE_VERBS,
        subresources: [...(hasStatus ? [STATUS] : []), ...(isObject(scale) ? [scaleSubresource(scale)] : [])],
        categories: stringList(names['categories']),
        schema: customResourceSchema(openApi, kind),
        hasStatusSubresource: hasStatus,
        defaults: (object) => pruneCustomResource(object, openApi),
        validate: (object) => validateCustomResource(object, openApi),
        custom: true,
        ...(columns.length === 0 ? {} : { printerColumns: columns }),
      },
    ];
  });
}
