export * from './constructs/index.js';
export * from './spec/index.js';
export * from './config/index.js';
export * from './synth.js';
export * from './render/index.js';
export * from './controller/index.js';
