/** Listeners: the node's listener keys and one container port per listener it has. */
import { listenerConfig, nodeListeners } from '../../config/listeners.js';
import type { NodeFeature } from '../contributions.js';

export const listenersFeature: NodeFeature = {
  name: 'listeners',
  contribute: (cluster, node) => ({
    config: listenerConfig(cluster, node),
    ports: nodeListeners(cluster, node).map((l) => ({ name: l.portName, containerPort: l.port, protocol: 'TCP' as const })),
  }),
};
