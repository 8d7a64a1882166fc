/**
 * Envoy config for external access through one LoadBalancer: each broker gets an Envoy
 * listener of its own (TCP proxy to that broker's external listener), one bootstrap port
 * proxies to any broker, a health port answers the LB's health checks, and the admin port
 * serves readiness and metrics.
 *
 * Brokers come and go without an Envoy restart: the static bootstrap (ENVOY_FILES.bootstrap)
 * only names the files of the dynamic part, `dynamic_resources` LDS and CDS read from
 * `dynamicDir` with `watched_directory`. That directory is a mounted ConfigMap: the kubelet
 * writes a new `..<timestamp>` dir and renames the `..data` symlink over the old one; Envoy
 * sees the rename in the watched directory and reloads both files. A listener or cluster whose
 * rendered config did not change is left alone by Envoy (it compares each resource), so the
 * connections on the other brokers' ports stay up. The bootstrap depends on neither the broker
 * count nor the brokers' addresses, so the Envoy Deployment never rolls for a broker change.
 *
 * Pure and deterministic: brokers are sorted by id, keys are written in a fixed order.
 */
import { createHash } from 'node:crypto';
import { toYamlDocuments } from '../output/yaml.js';

export interface EnvoyBroker {
  readonly id: number;
  /** Envoy listens here for this broker (what the broker advertises as its external port). */
  readonly listenPort: number;
  /** The broker's external listener, e.g. its own Service `demo-broker-3.kafka.svc.cluster.local:9094`. */
  readonly upstream: { readonly host: string; readonly port: number };
}

export interface EnvoyRouting {
  /** Used in stat prefixes / names. */
  readonly clusterName: string;
  readonly brokers: readonly EnvoyBroker[];
  /** Listens here and proxies to any broker (every broker upstream). */
  readonly bootstrapPort: number;
  readonly healthPort: number;
  readonly adminPort: number;
  /** Directory where the dynamic files (listeners, clusters) are mounted, e.g. /etc/envoy/dynamic. */
  readonly dynamicDir: string;
}

export const ENVOY_FILES = { bootstrap: 'envoy.yaml', listeners: 'lds.yaml', clusters: 'cds.yaml' } as const;

/** Names of the Envoy listener and cluster of a broker, and of the bootstrap ones. */
export const envoyBrokerName = (id: number): string => `broker-${id}`;
export const ENVOY_BOOTSTRAP_NAME = 'bootstrap';
export const ENVOY_HEALTH_NAME = 'health';

/**
 * Above Kafka's own idle limits (broker connections.max.idle.ms 10 min, client 9 min): Kafka
 * closes its idle connections itself; Envoy only reaps connections whose peer vanished.
 */
const TCP_IDLE_TIMEOUT = '900s';
/**
 * TCP keepalive on both sides, first probe after 60 s: below the idle timeouts of cloud LBs
 * and NATs (AWS NLB 350 s), so an idle Kafka connection is not silently dropped on the way,
 * and a dead peer is detected within ~90 s.
 */
const KEEPALIVE = { time: 60, interval: 10, probes: 3 } as const;
/**
 * Envoy's default per-cluster circuit breaker is 1024 connections, far below what one busy
 * broker carries (every tcp_proxy connection is one upstream connection).
 */
const MAX_CONNECTIONS_PER_BROKER = 100_000;
/** The whole proxy's downstream connection limit (overload manager); Envoy warns when none is set. */
const MAX_DOWNSTREAM_CONNECTIONS = 1_000_000;

const TYPE = {
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  tcpProxy: 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
  hcm: 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  healthCheck: 'type.googleapis.com/envoy.extensions.filters.http.health_check.v3.HealthCheck',
  dnsCluster: 'type.googleapis.com/envoy.extensions.clusters.dns.v3.DnsCluster',
  router: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
  downstreamLimit: 'type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig',
} as const;

/** Static part: admin, node, dynamic_resources -> files, the health listener. Independent of the brokers. */
export function renderEnvoyBootstrap(r: EnvoyRouting): string {
  checkRouting(r);
  const fileSource = (file: string) => ({
    resource_api_version: 'V3',
    path_config_source: { path: joinPath(r.dynamicDir, file), watched_directory: { path: r.dynamicDir } },
  });
  return toYamlDocuments([{
    node: { id: `${r.clusterName}-envoy`, cluster: `${r.clusterName}-envoy` },
    // On all addresses: the kubelet's readiness probe and Prometheus reach it on the Pod IP.
    // The LoadBalancer Service must never expose this port (admin can stop the server).
    admin: { address: socketAddress(r.adminPort) },
    dynamic_resources: { lds_config: fileSource(ENVOY_FILES.listeners), cds_config: fileSource(ENVOY_FILES.clusters) },
    static_resources: { listeners: [healthListener(r)] },
    overload_manager: {
      resource_monitors: [{
        name: 'envoy.resource_monitors.global_downstream_max_connections',
        typed_config: { '@type': TYPE.downstreamLimit, max_active_downstream_connections: MAX_DOWNSTREAM_CONNECTIONS },
      }],
    },
  }]);
}

/** LDS file: one TCP proxy listener per broker and the bootstrap listener. */
export function renderEnvoyListeners(r: EnvoyRouting): string {
  checkRouting(r);
  const listeners = [
    tcpListener(r, ENVOY_BOOTSTRAP_NAME, r.bootstrapPort),
    ...sortedBrokers(r).map((b) => tcpListener(r, envoyBrokerName(b.id), b.listenPort)),
  ];
  return discoveryResponse(listeners);
}

/** CDS file: one cluster per broker (its upstream) and the bootstrap cluster (every broker). */
export function renderEnvoyClusters(r: EnvoyRouting): string {
  checkRouting(r);
  const brokers = sortedBrokers(r);
  const clusters = [
    dnsCluster(ENVOY_BOOTSTRAP_NAME, brokers.map((b) => b.upstream)),
    ...brokers.map((b) => dnsCluster(envoyBrokerName(b.id), [b.upstream])),
  ];
  return discoveryResponse(clusters);
}

/** Rejects routings Envoy would refuse or route wrongly, naming the fields. */
function checkRouting(r: EnvoyRouting): void {
  const errors: string[] = [];
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(r.clusterName)) errors.push(`clusterName '${r.clusterName}' must be a DNS-like name (letters, digits, '-', '_', '.')`);
  if (!r.dynamicDir.startsWith('/')) errors.push(`dynamicDir '${r.dynamicDir}' must be an absolute path`);
  const ports = new Map<number, string>();
  const usePort = (port: number, what: string): void => {
    if (!Number.isInteger(port) || port < 1 || port > 65_535) errors.push(`${what} ${port} is not a TCP port`);
    const other = ports.get(port);
    if (other !== undefined) errors.push(`${what} ${port} is also ${other}`);
    ports.set(port, what);
  };
  usePort(r.adminPort, 'adminPort');
  usePort(r.healthPort, 'healthPort');
  usePort(r.bootstrapPort, 'bootstrapPort');
  const ids = new Set<number>();
  for (const b of r.brokers) {
    if (!Number.isInteger(b.id) || b.id < 0) errors.push(`brokers[].id ${b.id} must be a non-negative integer`);
    if (ids.has(b.id)) errors.push(`brokers[].id ${b.id} appears twice`);
    ids.add(b.id);
    usePort(b.listenPort, `brokers[id=${b.id}].listenPort`);
    if (!b.upstream.host) errors.push(`brokers[id=${b.id}].upstream.host is empty`);
    if (!Number.isInteger(b.upstream.port) || b.upstream.port < 1 || b.upstream.port > 65_535) errors.push(`brokers[id=${b.id}].upstream.port ${b.upstream.port} is not a TCP port`);
  }
  if (errors.length) throw new Error(`invalid Envoy routing for '${r.clusterName}':\n  ${errors.join('\n  ')}`);
}

const sortedBrokers = (r: EnvoyRouting): EnvoyBroker[] => [...r.brokers].sort((a, b) => a.id - b.id);

const joinPath = (dir: string, file: string): string => `${dir.replace(/\/+$/, '')}/${file}`;

const socketAddress = (port: number) => ({ socket_address: { address: '0.0.0.0', port_value: port } });

/**
 * The file form of a discovery response. version_info is a hash of the resources, so
 * config_dump tells which rendering Envoy runs.
 */
function discoveryResponse(resources: readonly object[]): string {
  const body = toYamlDocuments([{ resources }]);
  const version = createHash('sha256').update(body).digest('hex').slice(0, 16);
  return toYamlDocuments([{ version_info: version, resources }]);
}

/** Linux socket options (level, name): set on the listening socket, inherited by accepted ones. */
const SOCKET = { SOL_SOCKET: 1, SO_KEEPALIVE: 9, IPPROTO_TCP: 6, TCP_KEEPIDLE: 4, TCP_KEEPINTVL: 5, TCP_KEEPCNT: 6 } as const;

/** Downstream keepalive: Listener has no tcp_keepalive field, so raw socket options. */
const DOWNSTREAM_KEEPALIVE = [
  { level: SOCKET.SOL_SOCKET, name: SOCKET.SO_KEEPALIVE, int_value: 1 },
  { level: SOCKET.IPPROTO_TCP, name: SOCKET.TCP_KEEPIDLE, int_value: KEEPALIVE.time },
  { level: SOCKET.IPPROTO_TCP, name: SOCKET.TCP_KEEPINTVL, int_value: KEEPALIVE.interval },
  { level: SOCKET.IPPROTO_TCP, name: SOCKET.TCP_KEEPCNT, int_value: KEEPALIVE.probes },
].map((o) => ({ description: 'tcp keepalive', state: 'STATE_PREBIND', ...o }));

/**
 * A TCP proxy listener. Its config depends only on its name, port and cluster name, never
 * on the upstream address, so a broker whose address changes keeps its listener (and its
 * connections). A removed listener is drained by Envoy: no new connections, open ones
 * closed after --drain-time-s (the broker behind it is gone anyway).
 */
function tcpListener(r: EnvoyRouting, name: string, port: number) {
  return {
    '@type': TYPE.listener,
    name,
    // listener.<name>.* instead of listener.0.0.0.0_<port>.*: stable across port changes.
    stat_prefix: name,
    address: socketAddress(port),
    socket_options: DOWNSTREAM_KEEPALIVE,
    filter_chains: [{
      filters: [{
        name: 'envoy.filters.network.tcp_proxy',
        typed_config: {
          '@type': TYPE.tcpProxy,
          // tcp.<clusterName>.<name>.*: per broker and per Kafka cluster when Envoys are scraped together.
          stat_prefix: `${r.clusterName}.${name}`,
          cluster: name,
          idle_timeout: TCP_IDLE_TIMEOUT,
        },
      }],
    }],
  };
}

/**
 * STRICT_DNS: the upstream is a broker's Service name; when it is headless, the name
 * resolves to the Pod IP, which changes when the Pod is recreated, so Envoy re-resolves
 * often (5 s, or the record's TTL: CoreDNS serves 5 s) and new connections follow the new
 * Pod. Existing connections are not closed by a DNS change. STRICT_DNS rather than
 * LOGICAL_DNS because the bootstrap cluster has one hostname per broker, which LOGICAL_DNS
 * does not allow; for one name with one address the two behave alike. A failed lookup keeps
 * the last addresses and retries within 1..10 s.
 */
function dnsCluster(name: string, upstreams: ReadonlyArray<{ readonly host: string; readonly port: number }>) {
  return {
    '@type': TYPE.cluster,
    name,
    // The DNS cluster extension: Cluster's own dns_* fields are deprecated in Envoy 1.40.
    cluster_type: {
      name: 'envoy.clusters.dns',
      typed_config: {
        '@type': TYPE.dnsCluster,
        // Every address of every name is a host (STRICT_DNS); true would be LOGICAL_DNS.
        all_addresses_in_single_endpoint: false,
        // Kubernetes clusters are IPv4 or dual-stack; falls back to AAAA on IPv6-only ones.
        dns_lookup_family: 'V4_PREFERRED',
        dns_refresh_rate: '5s',
        respect_dns_ttl: true,
        dns_failure_refresh_rate: { base_interval: '1s', max_interval: '10s' },
      },
    },
    connect_timeout: '5s',
    circuit_breakers: { thresholds: [{ priority: 'DEFAULT', max_connections: MAX_CONNECTIONS_PER_BROKER }] },
    upstream_connection_options: {
      tcp_keepalive: { keepalive_time: KEEPALIVE.time, keepalive_interval: KEEPALIVE.interval, keepalive_probes: KEEPALIVE.probes },
    },
    load_assignment: {
      cluster_name: name,
      endpoints: [{
        lb_endpoints: upstreams.map((u) => ({ endpoint: { address: { socket_address: { address: u.host, port_value: u.port } } } })),
      }],
    },
  };
}

/**
 * HTTP on healthPort: 200 while Envoy serves, 503 once it drains or after
 * `POST /healthcheck/fail` on the admin port (a preStop hook), so the LB stops sending new
 * connections before the Pod goes. Any path answers: LBs differ in the path they probe.
 */
function healthListener(r: EnvoyRouting) {
  return {
    name: ENVOY_HEALTH_NAME,
    stat_prefix: ENVOY_HEALTH_NAME,
    address: socketAddress(r.healthPort),
    filter_chains: [{
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': TYPE.hcm,
          stat_prefix: ENVOY_HEALTH_NAME,
          route_config: { name: ENVOY_HEALTH_NAME, virtual_hosts: [] },
          http_filters: [
            {
              name: 'envoy.filters.http.health_check',
              typed_config: {
                '@type': TYPE.healthCheck,
                pass_through_mode: false,
                headers: [{ name: ':path', string_match: { prefix: '/' } }],
              },
            },
            { name: 'envoy.filters.http.router', typed_config: { '@type': TYPE.router } },
          ],
        },
      }],
    }],
  };
}
