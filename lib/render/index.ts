export * from './canonical.js';
export * from './metadata.js';
export { CLUSTER_ID_ENV, renderNodePod, sha256, type NodePod } from './node-pod.js';
