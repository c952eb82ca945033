// The event recorder: core/v1 Events about the objects controllers act on (created, scaled, killed,
// failed), so that `kubectl describe` shows them. A repeat of the same event (same object, type, reason
// and message) bumps the existing Event's count and lastTimestamp instead of making a new one. Recording
// never fails the caller: an event that cannot be written is logged and dropped.

import type { Logger } from 'pino';
import type { Clock } from '../../actors/clock.js';
import { EVENTS, apiVersionOf, type ApiClient, type KubeObject, type ResourceType } from '../../client/index.js';
import { metaOf, nameOf, namespaceOf, timestampOf, uidOf } from './objects.js';

/** Distinct recent events remembered for deduplication; the oldest are forgotten past it. */
export const EVENT_CACHE_LIMIT = 4_096;

export type EventType = 'Normal' | 'Warning';

interface Recorded {
  readonly name: string;
  readonly namespace: string;
  count: number;
}

export class EventRecorder {
  private readonly recent = new Map<string, Recorded>();
  private sequence = 0;

  constructor(
    private readonly client: ApiClient,
    private readonly component: string,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Records an event about `object` (of resource type `type`). Resolves when written or dropped. */
  async record(type: ResourceType, object: KubeObject, eventType: EventType, reason: string, message: string): Promise<void> {
    const namespace = namespaceOf(object) === '' ? 'default' : namespaceOf(object);
    const identity = `${uidOf(object)}\u0000${eventType}\u0000${reason}\u0000${message}`;
    const now = timestampOf(this.clock.now());
    const seen = this.recent.get(identity);
    try {
      if (seen !== undefined) {
        seen.count += 1;
        this.recent.delete(identity);
        this.recent.set(identity, seen);
        await this.client.patch(EVENTS, seen.namespace, seen.name, { count: seen.count, lastTimestamp: now });
        return;
      }
      const name = `${nameOf(object)}.${this.clock.now().toString(16)}${(this.sequence++).toString(16).padStart(4, '0')}`;
      const recorded: Recorded = { name, namespace, count: 1 };
      this.recent.set(identity, recorded);
      if (this.recent.size > EVENT_CACHE_LIMIT) {
        const oldest = this.recent.keys().next().value;
        if (oldest !== undefined) this.recent.delete(oldest);
      }
      await this.client.create(EVENTS, namespace, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace },
        involvedObject: {
          apiVersion: apiVersionOf(type),
          kind: type.kind,
          name: nameOf(object),
          namespace: namespaceOf(object),
          uid: uidOf(object),
          resourceVersion: metaOf(object).resourceVersion ?? '',
        },
        reason,
        message,
        type: eventType,
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component: this.component },
        reportingComponent: this.component,
      });
    } catch (error) {
      this.recent.delete(identity);
      this.log.debug({ err: error, reason }, 'event not recorded');
    }
  }
}
