export * from './canonical.js';
export * from './metadata.js';
export { renderNodePod, sha256, type NodePod } from './node-pod.js';
export * from './start-script.js';
export * from './pod-fields.js';
export * from './cluster-document.js';
