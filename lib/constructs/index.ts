export * from './kafka-cluster.js';
export * from './kafka-cluster-chart.js';
export * from './kafka-node.js';
export * from './metadata.js';
export { CLUSTER_ID_ENV, renderNodePod, type NodePod } from './node-pod.js';
