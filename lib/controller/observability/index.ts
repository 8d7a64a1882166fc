export * from './http.js';
export * from './log.js';
export * from './metrics.js';
