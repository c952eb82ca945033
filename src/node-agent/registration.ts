// What every node agent does for its Node, whatever runs its pods: register the Node (labels,
// taints, capacity = allocatable, pressure and Ready conditions, addresses, nodeInfo) and keep its
// Lease in kube-node-lease renewed every 10 s on the injected Clock.

import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../actors/clock.js';
import { EVENTS, isAlreadyExists, isNotFound, LEASES, NODES, type ApiClient, type KubeObject } from '../client/index.js';

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
export const LEASE_RENEW_INTERVAL_MS = 10_000;
export const LEASE_DURATION_SECONDS = 40;
/** The Node annotation naming the agent's actor node id: where the API server asks for pods/log. */
export const AGENT_NODE_ANNOTATION = 'kplane.io/agent-node';

export interface NodeSpec {
  readonly name: string;
  readonly capacity: { readonly cpu: string; readonly memory: string; readonly pods: number };
  readonly labels?: Readonly<Record<string, string>>;
  readonly taints?: readonly { readonly key: string; readonly value?: string; readonly effect: string }[];
}

export function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** metav1.MicroTime, as Leases carry it. */
export function microTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

export interface RegistrationOptions {
  readonly client: ApiClient;
  readonly clock: Clock;
  readonly log: Logger;
  readonly spec: NodeSpec;
  readonly address: string;
  /** 'simulated' or 'process': the kplane.io/node-agent label and the runtime in nodeInfo. */
  readonly runtime: string;
  readonly leaseRenewIntervalMs?: number;
  /** The agent's actor node id (AGENT_NODE_ANNOTATION); absent: not recorded. */
  readonly agentNode?: string;
}

export class NodeRegistration {
  private leaseTimer: TimerHandle | undefined;
  private stopped = false;
  leaseRenewals = 0;

  constructor(private readonly options: RegistrationOptions) {}

  /** Creates (or keeps) the Node, writes its status, and takes its Lease; renewals follow on the clock. */
  async start(): Promise<void> {
    await this.register();
    await this.recordStarting();
    await this.renewLease();
  }

  stop(): void {
    this.stopped = true;
    if (this.leaseTimer !== undefined) this.options.clock.cancelTimer(this.leaseTimer);
  }

  private async register(): Promise<void> {
    const { client, spec, runtime, address, agentNode } = this.options;
    const { name, capacity } = spec;
    const node: KubeObject = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name,
        labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'kplane.io/node-agent': runtime, ...spec.labels },
        ...(agentNode === undefined ? {} : { annotations: { [AGENT_NODE_ANNOTATION]: agentNode } }),
      },
      spec: { taints: (spec.taints ?? []).map((taint) => ({ key: taint.key, value: taint.value ?? '', effect: taint.effect })) },
    };
    try {
      await client.create(NODES, undefined, node);
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
      // A Node from an earlier run: the agent may have a new actor address now.
      if (agentNode !== undefined) await client.patch(NODES, undefined, name, { metadata: { annotations: { [AGENT_NODE_ANNOTATION]: agentNode } } }, 'merge');
    }
    const now = timestamp(this.options.clock.now());
    const resources = { cpu: capacity.cpu, memory: capacity.memory, pods: String(capacity.pods) };
    const condition = (type: string, status: string, reason: string, message: string): KubeObject => ({ type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: now });
    await client.patch(
      NODES,
      undefined,
      name,
      {
        status: {
          capacity: resources,
          allocatable: resources,
          conditions: [
            condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
            condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
            condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
            condition('Ready', 'True', 'KubeletReady', `kubelet is posting ready status (${runtime})`),
          ],
          addresses: [
            { type: 'InternalIP', address },
            { type: 'Hostname', address: name },
          ],
          nodeInfo: { kubeletVersion: `v1.32.0-kplane-${runtime}`, operatingSystem: 'linux', architecture: 'amd64', containerRuntimeVersion: `${runtime}://0` },
          phase: 'Running',
        },
      },
      'merge',
      'status',
    );
  }

  /**
   * The kubelet's `Starting` event about its Node, which `kubectl describe node` shows. Node events
   * carry the node's name as their uid, as the kubelet's do (kubectl searches by both). Best effort.
   */
  private async recordStarting(): Promise<void> {
    const { client, clock, spec, runtime, log } = this.options;
    const now = timestamp(clock.now());
    try {
      await client.create(EVENTS, 'default', {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: `${spec.name}.${clock.now().toString(16)}`, namespace: 'default' },
        involvedObject: { kind: 'Node', name: spec.name, uid: spec.name },
        reason: 'Starting',
        message: `Starting kplane node agent (${runtime}).`,
        type: 'Normal',
        source: { component: 'kubelet', host: spec.name },
        reportingComponent: 'kubelet',
        reportingInstance: spec.name,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      });
    } catch (error) {
      log.debug({ err: error }, 'Starting event not recorded');
    }
  }

  private async renewLease(): Promise<void> {
    if (this.stopped) return;
    const { client, spec, log } = this.options;
    const name = spec.name;
    const renewTime = microTimestamp(this.options.clock.now());
    try {
      await client.patch(LEASES, NODE_LEASE_NAMESPACE, name, { spec: { holderIdentity: name, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime } });
    } catch (error) {
      if (!isNotFound(error)) {
        log.warn({ err: error }, 'lease renewal failed; retrying at the next interval');
      } else {
        try {
          await client.create(LEASES, NODE_LEASE_NAMESPACE, {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name, namespace: NODE_LEASE_NAMESPACE },
            spec: { holderIdentity: name, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime },
          });
        } catch (createError) {
          if (!isAlreadyExists(createError)) log.warn({ err: createError }, 'lease creation failed; retrying at the next interval');
        }
      }
    }
    this.leaseRenewals++;
    if (this.stopped) return;
    this.leaseTimer = this.options.clock.setTimer(this.options.leaseRenewIntervalMs ?? LEASE_RENEW_INTERVAL_MS, () => void this.renewLease());
  }
}
