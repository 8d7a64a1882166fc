/**
 * Istio with classic sidecars: Kafka starts once the sidecar is ready and tells it to
 * quit when Kafka has exited (render/istio-sidecar.ts). Native sidecars need neither.
 */
import { ISTIO_ENV, sidecarQuitFunction, sidecarWaitFunction, superviseWithSidecar } from '../istio-sidecar.js';
import type { NodeFeature } from '../contributions.js';

export const istioFeature: NodeFeature = {
  name: 'istio',
  contribute: (cluster) => {
    if (!cluster.istio || cluster.istio.nativeSidecars) return undefined;
    return {
      env: [{ name: ISTIO_ENV.readyTimeoutSeconds, value: String(cluster.istio.sidecarReadyTimeoutSeconds) }],
      beforeStart: `${sidecarWaitFunction()}\n${sidecarQuitFunction()}\nwait_for_sidecar || exit 1`,
      launch: superviseWithSidecar,
    };
  },
};
