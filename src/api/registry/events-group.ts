// events.k8s.io/v1 events. Stored under their own key prefix (/registry/events.events.k8s.io/...):
// kube-apiserver shares storage between core and events.k8s.io events; we do not convert between
// the two shapes yet, so each group sees the events written through it.

import { typeAndObjectMeta } from './meta.js';
import { causes } from '../status.js';
import { READ_WRITE_VERBS, type ResourceDefinition } from './types.js';

export const eventsV1: ResourceDefinition = {
  group: 'events.k8s.io',
  version: 'v1',
  kind: 'Event',
  listKind: 'EventList',
  plural: 'events',
  singular: 'event',
  shortNames: ['ev'],
  namespaced: true,
  verbs: READ_WRITE_VERBS,
  subresources: [],
  categories: [],
  schema: {
    type: 'object',
    properties: {
      ...typeAndObjectMeta,
      eventTime: { type: 'any' },
      regarding: { type: 'object', additionalProperties: { type: 'any' } },
      related: { type: 'object', additionalProperties: { type: 'any' } },
      reason: { type: 'string' },
      note: { type: 'string' },
      type: { type: 'string' },
      action: { type: 'string' },
      reportingController: { type: 'string' },
      reportingInstance: { type: 'string' },
      series: { type: 'object', additionalProperties: { type: 'any' } },
      deprecatedSource: { type: 'object', additionalProperties: { type: 'any' } },
      deprecatedFirstTimestamp: { type: 'any' },
      deprecatedLastTimestamp: { type: 'any' },
      deprecatedCount: { type: 'integer' },
    },
  },
  hasStatusSubresource: false,
  validate: (event) => (event['eventTime'] === undefined || event['eventTime'] === null ? [causes.required('eventTime')] : []),
};

export const eventsGroupResources: readonly ResourceDefinition[] = [eventsV1];
