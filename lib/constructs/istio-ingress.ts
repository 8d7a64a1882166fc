import { Construct } from 'constructs';
import { ApiObject } from 'cdk8s';
import type { ClusterModel, ExternalAccessModel } from '../spec/resolve.js';
import { clusterLabels, LABEL_COMPONENT } from '../render/metadata.js';
import { listenerByName } from '../config/listeners.js';
import { renderIstioGateway, renderIstioVirtualService, type IstioIngress as IstioIngressInput } from '../render/istio-objects.js';

export interface IstioIngressProps {
  /** The resolved cluster whose brokers the gateway exposes. */
  readonly cluster: ClusterModel;
  /** The cluster's `externalAccess`: host, per-broker and bootstrap ports. */
  readonly access: ExternalAccessModel;
  /** `externalAccess.istio`: the gateway's Pods and tcp or tls-passthrough. */
  readonly istio: NonNullable<ExternalAccessModel['istio']>;
}

const COMPONENT = 'ingress';

/** What the Gateway and VirtualService are rendered from: a route per broker and the bootstrap route. */
export function istioIngressInput(cluster: ClusterModel, access: ExternalAccessModel, istio: NonNullable<ExternalAccessModel['istio']>): IstioIngressInput {
  const external = listenerByName(cluster, 'EXTERNAL');
  if (!external) throw new Error(`cluster '${cluster.name}': externalAccess needs the EXTERNAL listener`);
  const destination = (host: string) => ({ host, port: external.port });
  return {
    name: `${cluster.name}-external`,
    namespace: cluster.namespace,
    labels: { ...clusterLabels(cluster), [LABEL_COMPONENT]: COMPONENT },
    selector: istio.gatewaySelector,
    host: access.host,
    mode: istio.mode,
    routes: [
      // Every broker, weighted evenly: the bootstrap Service has only the INTERNAL port,
      // and any broker answers a client's first metadata request.
      { name: 'bootstrap', port: access.bootstrapPort, destinations: cluster.brokers.map((b) => destination(b.host)) },
      ...cluster.brokers.map((b) => ({ name: `broker-${b.id}`, port: access.externalStartingPort + b.id, destinations: [destination(b.host)] })),
    ],
  };
}

/**
 * External access through the mesh's Istio ingress gateway: a Gateway opening a port per
 * broker (externalStartingPort + id) and the bootstrap port on the gateway Pods, and a
 * VirtualService routing each port to its broker's Service (the EXTERNAL listener port).
 * The gateway's own Service must expose the same ports (see README "Istio").
 * Emitted as the renderers' JSON, unchanged. Plain GitOps objects.
 */
export class IstioIngress extends Construct {
  constructor(scope: Construct, id: string, props: IstioIngressProps) {
    super(scope, id);
    const input = istioIngressInput(props.cluster, props.access, props.istio);
    new ApiObject(this, 'Gateway', renderIstioGateway(input) as never);
    new ApiObject(this, 'VirtualService', renderIstioVirtualService(input) as never);
  }
}
