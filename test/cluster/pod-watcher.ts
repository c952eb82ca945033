// A watch of every pod event of one label selector through @kubernetes/client-node, for the controller
// process tests: the current pods, each pod name ever seen by its controlling owner, and a check run
// after every event (so a test can judge the pods as they were at each revision). The watch restarts
// from its last resourceVersion if the server ends it.
import * as k8s from '@kubernetes/client-node';
import { controllerOf } from '../../src/testing/chaos/pod-invariants.js';

const WATCH_RESTART_MS = 200;

export class PodWatcher {
  readonly pods = new Map<string, k8s.V1Pod>();
  readonly everSeen = new Map<string, Set<string>>();
  private abort: AbortController | undefined;
  private resourceVersion: string;
  private closed = false;

  constructor(
    private readonly kubeConfig: k8s.KubeConfig,
    private readonly namespace: string,
    private readonly labelSelector: string,
    initial: k8s.V1PodList,
    private readonly onEvent: (watcher: PodWatcher, phase: string, pod: k8s.V1Pod) => void,
  ) {
    this.resourceVersion = initial.metadata?.resourceVersion ?? '0';
    for (const pod of initial.items) this.remember(pod);
  }

  /** Lists the pods of the selector now and starts watching from there. */
  static async start(kubeConfig: k8s.KubeConfig, namespace: string, labelSelector: string, onEvent: (watcher: PodWatcher, phase: string, pod: k8s.V1Pod) => void): Promise<PodWatcher> {
    const initial = await kubeConfig.makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace, labelSelector });
    const watcher = new PodWatcher(kubeConfig, namespace, labelSelector, initial, onEvent);
    await watcher.start();
    return watcher;
  }

  private remember(pod: k8s.V1Pod): void {
    const name = pod.metadata?.name ?? '';
    this.pods.set(name, pod);
    const owner = controllerOf(pod);
    const names = this.everSeen.get(owner) ?? new Set<string>();
    names.add(name);
    this.everSeen.set(owner, names);
  }

  async start(): Promise<void> {
    if (this.closed) return;
    const watch = new k8s.Watch(this.kubeConfig);
    this.abort = await watch.watch(
      `/api/v1/namespaces/${this.namespace}/pods`,
      { labelSelector: this.labelSelector, resourceVersion: this.resourceVersion },
      (phase: string, pod: k8s.V1Pod) => {
        if (phase === 'ERROR' || phase === 'BOOKMARK') return;
        this.resourceVersion = pod.metadata?.resourceVersion ?? this.resourceVersion;
        if (phase === 'DELETED') this.pods.delete(pod.metadata?.name ?? '');
        else this.remember(pod);
        this.onEvent(this, phase, pod);
      },
      () => {
        if (!this.closed) setTimeout(() => void this.start().catch(() => undefined), WATCH_RESTART_MS);
      },
    );
  }

  /** Every pod name ever seen, of any owner. */
  allSeen(): Set<string> {
    return new Set([...this.everSeen.values()].flatMap((names) => [...names]));
  }

  stop(): void {
    this.closed = true;
    this.abort?.abort();
  }
}
