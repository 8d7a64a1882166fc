export * from './owned-keys.js';
export * from './properties-format.js';
export * from './server-properties.js';
export * from './kafka-keys.js';
export * from './metadata-versions.js';
export * from './versions.js';
