// The components' API client: typed calls, informers, and the transports under them.
export * from './actor-transport.js';
export * from './api-client.js';
export * from './errors.js';
export * from './informer.js';
export * from './local-transport.js';
export * from './resources.js';
export type * from './transport.js';
