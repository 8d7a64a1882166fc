// The controller's pure decisions, for tools that want to ask what a change will do.
export * from './decide/config-change.js';
export * from './decide/node-state.js';
export * from './decide/roll.js';
export * from './decide/roll-step.js';
export * from './decide/pod-to-create.js';
export * from './decide/quorum.js';
export * from './decide/features.js';
