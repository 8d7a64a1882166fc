export * from './kafka-cluster.js';
export * from './kafka-cluster-chart.js';
export * from './kafka-node.js';
export * from './kafka-operator.js';
export * from './envoy-ingress.js';
export * from './istio-ingress.js';
