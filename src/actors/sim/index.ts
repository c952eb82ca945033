// The actor runtime's deterministic simulated mode: many actor-system processes in one Node process,
// on one virtual clock, over a seeded network with faults, partitions and crashes (docs/simulation.md).
export { ProcessClock } from './process-clock.js';
export {
  drawLinkFaults,
  FAULT_LIMITS_DEFAULT,
  fingerprint,
  IN_FLIGHT_FRAMES_PER_LINK_MAX,
  NO_FAULTS,
  SimNetwork,
  validateFaults,
  type FaultLimits,
  type FrameDescriber,
  type LinkFaults,
  type SimEndpoint,
  type SimNetworkOptions,
} from './sim-network.js';
export { SimTrace, TRACE_LINES_KEPT_DEFAULT, type TraceKind } from './sim-trace.js';
export { SimTransport } from './sim-transport.js';
export { describeRemotingFrame, SimSettleTimeoutError, SimWorld, type ProcessSetup, type SimProcess, type SimWorldOptions } from './sim-world.js';
export { forEachSeed, runSeeded, SEED_ENV_VAR, SeededFailure, seedsToRun } from './seeded.js';
export { flushMicrotasks, VirtualClock } from './virtual-clock.js';
