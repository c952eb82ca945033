// The virtual clock lives with the actor runtime's simulated mode (src/actors/sim/virtual-clock.ts);
// this re-export keeps the older import path of the simulators and tests working.
export * from '../actors/sim/virtual-clock.js';
