// The public surface of kplane's Raft core: the RaftNode, its messages, the in-memory log storage
// and the data types. Drivers, the simulator and the store import from here.
export * from './types.js';
export * from './messages.js';
export * from './errors.js';
export * from './core.js';
export { MemoryLogStorage, entrySizeBytes, EMPTY_CONF } from './memory-storage.js';
export { encodeConfChange, decodeConfChange } from './confchange.js';
