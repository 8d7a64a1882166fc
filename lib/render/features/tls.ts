/**
 * TLS: each node mounts its own Secret (read-only; the kubelet swaps a renewed one in
 * place, and the controller then has Kafka reload it, see controller/decide/tls-reload.ts),
 * and every TLS listener reads its PEM files from there. The Kafka tools the probes run
 * against the node speak TLS too.
 */
import { clientTlsProperties, tlsListenerConfig } from '../../config/tls-config.js';
import { nodeListeners } from '../../config/listeners.js';
import { TLS_MOUNT_DIR } from '../../tls/secret-layout.js';
import { names } from '../metadata.js';
import type { NodeFeature } from '../contributions.js';

const VOLUME = 'tls';
/** Owner and group may read (the Pod's fsGroup owns Secret files); nobody else. */
const SECRET_FILE_MODE = 0o440;

export const tlsFeature: NodeFeature = {
  name: 'tls',
  contribute: (cluster, node) => {
    const tls = cluster.tls;
    if (!tls) return undefined;
    const secured = nodeListeners(cluster, node).filter((l) => l.tls);
    const internal = secured.find((l) => l.name === 'INTERNAL');
    return {
      config: Object.assign({}, ...secured.map((l) => tlsListenerConfig(l.name, { clientAuth: l.clientAuth, dir: TLS_MOUNT_DIR }))),
      // The probes connect to 127.0.0.1: the chain is checked, the name cannot be.
      adminProperties: internal ? clientTlsProperties({ dir: TLS_MOUNT_DIR, clientAuth: internal.clientAuth, verifyHostname: false }) : {},
      volumes: [{ name: VOLUME, secret: { secretName: names.nodeTlsSecret(tls, node), defaultMode: SECRET_FILE_MODE } }],
      volumeMounts: [{ name: VOLUME, mountPath: TLS_MOUNT_DIR, readOnly: true }],
    };
  },
};
