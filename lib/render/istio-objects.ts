/**
 * External access through an Istio ingress gateway: a Gateway and a
 * VirtualService (networking.istio.io/v1, served by Istio >= 1.22), as plain
 * Kubernetes JSON with sorted keys. Kafka clients need every broker at its own
 * address, so each broker gets a gateway port of its own, plus one bootstrap
 * port spread over all brokers.
 *
 * - 'tcp': routed by port alone. A plain TCP connection carries no host name, so
 *   the Gateway servers accept any host ('*'); the VirtualService names the host.
 * - 'tls-passthrough': routed by port and SNI (the host), TLS left to Kafka.
 */
import { canonical } from './canonical.js';

export const ISTIO_NETWORKING_API_VERSION = 'networking.istio.io/v1';

export interface IstioDestination {
  readonly host: string;
  readonly port: number;
}

export interface IstioRoute {
  readonly name: string;
  readonly port: number;
  readonly destinations: ReadonlyArray<IstioDestination>;
}

export interface IstioIngress {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Gateway workload selector, e.g. { istio: 'ingressgateway' }. */
  readonly selector: Readonly<Record<string, string>>;
  /** The external host clients use (advertised by every broker's external listener). */
  readonly host: string;
  /** 'tcp': plain TCP routing by port; 'tls-passthrough': TLS routed by SNI (host) and port, not terminated. */
  readonly mode: 'tcp' | 'tls-passthrough';
  /** One per broker plus the bootstrap port. */
  readonly routes: ReadonlyArray<IstioRoute>;
}

/** Istio's total weight of a route (its destinations are meant to sum to it). */
const TOTAL_WEIGHT = 100;

/**
 * Weights that share a route evenly and sum to 100, the earlier destinations
 * taking the remainder (3 → 34, 33, 33): the same input, the same weights.
 * Beyond 100 destinations each gets 1: Istio takes weights as relative, and a
 * weight of 0 would send a destination nothing.
 */
export function evenWeights(count: number): number[] {
  if (count > TOTAL_WEIGHT) return Array.from({ length: count }, () => 1);
  const base = Math.floor(TOTAL_WEIGHT / count);
  const extra = TOTAL_WEIGHT - base * count;
  return Array.from({ length: count }, (_, i) => base + (i < extra ? 1 : 0));
}

export function renderIstioGateway(i: IstioIngress): Record<string, unknown> {
  check(i);
  const tls = i.mode === 'tls-passthrough';
  return canonical({
    apiVersion: ISTIO_NETWORKING_API_VERSION,
    kind: 'Gateway',
    metadata: metadata(i),
    spec: {
      selector: { ...i.selector },
      servers: i.routes.map((r) => ({
        hosts: [tls ? i.host : '*'],
        name: `${i.name}-${r.name}`,
        port: { name: `${tls ? 'tls' : 'tcp'}-${r.name}`, number: r.port, protocol: tls ? 'TLS' : 'TCP' },
        tls: tls ? { mode: 'PASSTHROUGH' } : undefined,
      })),
    },
  });
}

export function renderIstioVirtualService(i: IstioIngress): Record<string, unknown> {
  check(i);
  const tls = i.mode === 'tls-passthrough';
  const routes = i.routes.map((r) => ({
    match: [tls ? { port: r.port, sniHosts: [i.host] } : { port: r.port }],
    route: routeDestinations(r.destinations),
  }));
  return canonical({
    apiVersion: ISTIO_NETWORKING_API_VERSION,
    kind: 'VirtualService',
    metadata: metadata(i),
    spec: {
      // Same namespace as the Gateway, so its bare name binds it.
      gateways: [i.name],
      hosts: [i.host],
      ...(tls ? { tls: routes } : { tcp: routes }),
    },
  });
}

/** A lone destination takes all traffic without a weight. */
function routeDestinations(destinations: ReadonlyArray<IstioDestination>): Array<Record<string, unknown>> {
  const weights = destinations.length > 1 ? evenWeights(destinations.length) : [];
  return destinations.map((d, n) => ({ destination: { host: d.host, port: { number: d.port } }, weight: weights[n] }));
}

function metadata(i: IstioIngress): Record<string, unknown> {
  return { labels: Object.keys(i.labels).length > 0 ? { ...i.labels } : undefined, name: i.name, namespace: i.namespace };
}

/** Rejects input that would render objects the gateway cannot serve, naming the field. */
function check(i: IstioIngress): void {
  const where = `Istio ingress "${i.name}"`;
  if (!i.host) throw new Error(`${where}: host is empty`);
  if (i.routes.length === 0) throw new Error(`${where}: routes is empty`);
  const names = new Map<string, number>();
  const ports = new Map<number, number>();
  i.routes.forEach((r, n) => {
    if (!isPort(r.port)) throw new Error(`${where}: routes[${n}].port ${r.port} is not a TCP port (1..65535)`);
    if (names.has(r.name)) throw new Error(`${where}: routes[${n}].name "${r.name}" is also routes[${names.get(r.name)}].name`);
    if (ports.has(r.port)) throw new Error(`${where}: routes[${n}].port ${r.port} is also routes[${ports.get(r.port)}].port`);
    if (r.destinations.length === 0) throw new Error(`${where}: routes[${n}] ("${r.name}") has no destinations`);
    r.destinations.forEach((d, k) => {
      if (!isPort(d.port)) throw new Error(`${where}: routes[${n}].destinations[${k}].port ${d.port} is not a TCP port (1..65535)`);
    });
    names.set(r.name, n);
    ports.set(r.port, n);
  });
}

function isPort(p: number): boolean {
  return Number.isInteger(p) && p >= 1 && p <= 65_535;
}
