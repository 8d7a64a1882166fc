export * from './schema.js';
export * from './problems.js';
export * from './validate.js';
export * from './resolve.js';
export * from './load.js';
