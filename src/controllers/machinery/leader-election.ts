// Lease-based leader election (client-go's algorithm over a coordination.k8s.io/v1 Lease). Every
// candidate tries to acquire or renew the Lease every retryPeriod. A Lease held by another identity is
// taken over only after the holder's record has not changed for leaseDuration by OUR clock (we never
// compare our clock with timestamps another process wrote). The leader that has not renewed for
// renewDeadline steps down at once, by a timer, even if its API calls hang; since renewDeadline <
// leaseDuration, it has stopped before anyone else may take over. Writes use the Lease's
// resourceVersion, so two candidates can never both win one round. An attempt that takes longer than
// half the renew deadline (an API server that died mid-call) is given up, so no candidate stays stuck.

import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../../actors/clock.js';
import { isAlreadyExists, isConflict, isNotFound, LEASES, type ApiClient, type KubeObject } from '../../client/index.js';
import { numberField, specOf, stringField } from './objects.js';

export interface LeaderElectionConfig {
  /** This candidate's identity (unique per process). */
  readonly identity: string;
  readonly namespace: string;
  readonly name: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
}

export const LEADER_ELECTION_DEFAULTS = {
  namespace: 'kube-system',
  name: 'kube-controller-manager',
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
} as const;

export function leaderElectionConfig(identity: string, overrides: Partial<Omit<LeaderElectionConfig, 'identity'>> = {}): LeaderElectionConfig {
  const config = { ...LEADER_ELECTION_DEFAULTS, ...overrides, identity };
  if (identity === '') throw new RangeError('leaderElection.identity must not be empty');
  if (!(config.leaseDurationMs > config.renewDeadlineMs)) throw new RangeError('leaderElection.leaseDurationMs must be greater than renewDeadlineMs');
  if (!(config.renewDeadlineMs > config.retryPeriodMs)) throw new RangeError('leaderElection.renewDeadlineMs must be greater than retryPeriodMs');
  if (!(config.retryPeriodMs > 0)) throw new RangeError('leaderElection.retryPeriodMs must be positive');
  return config;
}

export interface LeaderCallbacks {
  onStartedLeading(): void;
  onStoppedLeading(): void;
}

/** The Lease's MicroTime format. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '000Z');
}

function recordOf(lease: KubeObject): string {
  const spec = specOf(lease);
  return `${stringField(spec, 'holderIdentity') ?? ''}|${stringField(spec, 'renewTime') ?? ''}|${numberField(spec, 'leaseTransitions', 0)}`;
}

export class LeaderElector {
  private leading = false;
  private stopped = true;
  private observedRecord = '';
  private observedAtMs = 0;
  private lastRenewMs = 0;
  private attemptTimer: TimerHandle | undefined;
  private deadlineTimer: TimerHandle | undefined;
  private attempting = false;

  constructor(
    private readonly client: ApiClient,
    private readonly clock: Clock,
    private readonly log: Logger,
    readonly config: LeaderElectionConfig,
    private readonly callbacks: LeaderCallbacks,
  ) {}

  isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops campaigning. With `release` (a clean shutdown) a held Lease is given up so a standby takes over at once. */
  async stop(release = true): Promise<void> {
    this.stopped = true;
    if (this.attemptTimer !== undefined) this.clock.cancelTimer(this.attemptTimer);
    const wasLeading = this.leading;
    this.stepDown('stopped');
    if (release && wasLeading) await this.release();
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.attemptTimer !== undefined) this.clock.cancelTimer(this.attemptTimer);
    this.attemptTimer = this.clock.setTimer(delayMs, () => void this.attempt());
  }

  private async attempt(): Promise<void> {
    if (this.stopped || this.attempting) return;
    this.attempting = true;
    try {
      const acquired = await this.withinAttemptDeadline(this.tryAcquireOrRenew());
      if (this.stopped) return;
      if (acquired) {
        this.lastRenewMs = this.clock.now();
        this.armDeadline();
        if (!this.leading) {
          this.leading = true;
          this.log.info({ identity: this.config.identity, lease: this.config.name }, 'became leader');
          this.callbacks.onStartedLeading();
        }
      } else if (this.leading) {
        this.stepDown('lease held by another');
      }
    } catch (error) {
      this.log.debug({ err: error }, 'lease acquire or renew failed');
      if (this.leading && this.clock.now() - this.lastRenewMs >= this.config.renewDeadlineMs) this.stepDown('renew deadline passed');
    } finally {
      this.attempting = false;
      this.schedule(this.config.retryPeriodMs);
    }
  }

  /**
   * An attempt gives up after half the renew deadline (client-go bounds its attempts by the renew
   * deadline too). Without a bound, a call to an API server that died waits for the transport's
   * call timeout (30 s): every candidate would be stuck that long and the cluster would have no
   * leader for it. A late answer is ignored; the next attempt reads the Lease afresh.
   */
  private withinAttemptDeadline<T>(attempt: Promise<T>): Promise<T> {
    attempt.catch(() => undefined); // a late failure after the deadline is nobody's business
    return new Promise<T>((resolve, reject) => {
      const timer = this.clock.setTimer(this.config.renewDeadlineMs / 2, () => reject(new Error('lease attempt timed out')));
      attempt.then(
        (value) => {
          this.clock.cancelTimer(timer);
          resolve(value);
        },
        (error: unknown) => {
          this.clock.cancelTimer(timer);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  private armDeadline(): void {
    if (this.deadlineTimer !== undefined) this.clock.cancelTimer(this.deadlineTimer);
    this.deadlineTimer = this.clock.setTimer(this.config.renewDeadlineMs, () => this.stepDown('renew deadline passed'));
  }

  private stepDown(reason: string): void {
    if (this.deadlineTimer !== undefined) this.clock.cancelTimer(this.deadlineTimer);
    this.deadlineTimer = undefined;
    if (!this.leading) return;
    this.leading = false;
    this.log.warn({ identity: this.config.identity, reason }, 'stopped leading');
    this.callbacks.onStoppedLeading();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.config;
    const now = this.clock.now();
    const durationSeconds = Math.max(1, Math.ceil(this.config.leaseDurationMs / 1000));
    let lease: KubeObject;
    try {
      lease = await this.client.get(LEASES, namespace, name);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      const spec = { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 };
      try {
        const created = await this.client.create(LEASES, namespace, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec });
        this.observe(created);
        return true;
      } catch (createError) {
        if (isAlreadyExists(createError)) return false;
        throw createError;
      }
    }
    this.observe(lease);
    const spec = specOf(lease);
    const holder = stringField(spec, 'holderIdentity') ?? '';
    const heldByOther = holder !== '' && holder !== identity;
    if (heldByOther && this.observedAtMs + this.config.leaseDurationMs > now) return false;
    const transitions = numberField(spec, 'leaseTransitions', 0);
    const nextSpec = {
      holderIdentity: identity,
      leaseDurationSeconds: durationSeconds,
      acquireTime: holder === identity ? (stringField(spec, 'acquireTime') ?? microTime(now)) : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: holder === identity ? transitions : transitions + 1,
    };
    try {
      const updated = await this.client.update(LEASES, { ...lease, spec: nextSpec });
      this.observe(updated);
      return true;
    } catch (error) {
      if (isConflict(error)) return false;
      throw error;
    }
  }

  private observe(lease: KubeObject): void {
    const record = recordOf(lease);
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedAtMs = this.clock.now();
    }
  }

  private async release(): Promise<void> {
    const { namespace, name, identity } = this.config;
    try {
      const lease = await this.client.get(LEASES, namespace, name);
      if (stringField(specOf(lease), 'holderIdentity') !== identity) return;
      await this.client.update(LEASES, { ...lease, spec: { ...specOf(lease), holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(this.clock.now()) } });
    } catch (error) {
      this.log.debug({ err: error }, 'lease release failed');
    }
  }
}
