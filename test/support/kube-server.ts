/**
 * A real kube-apiserver (+ etcd) on 127.0.0.1 for integration tests (issue #4).
 *
 *   const kube = await startKubeApiServer();
 *   try { await applyManifests(kube.client, yaml); ... } finally { await kube.close(); }
 *
 * kube.client is a minimal connection for kube-apply.ts; kube.kubeConfig is a
 * @kubernetes/client-node KubeConfig for the same context.
 *
 * Binaries come from `bash test/bed/install-kube.sh` (versions from versions.json, in
 * ${KAFKA_CDK8S_CACHE:-~/.cache/kafka-cdk8s}); override with KAFKA_CDK8S_KUBE_APISERVER /
 * KAFKA_CDK8S_ETCD. The third-party CRDs of <repo>/../shared/crds (or
 * $KAFKA_CDK8S_SHARED/crds) are installed and Established before this resolves.
 *
 * What the server is (and is not):
 * - Only etcd + kube-apiserver: no controller-manager, scheduler or kubelet. So no
 *   garbage collection (ownerReferences are not followed), no namespace finalization
 *   (a deleted Namespace stays Terminating), no Endpoints/EndpointSlices, no
 *   kube-root-ca.crt ConfigMaps, Pods are never scheduled or run (a test "pod runner"
 *   sets pods/status).
 * - Auth: one static bearer token (--token-auth-file), user `kafka-cdk8s-test-admin` in
 *   group system:masters; authorization RBAC (system:masters is bound to cluster-admin by
 *   the bootstrap policy), so the token may do everything, including pods/status and
 *   impersonation (tests can check the controller's RBAC with Impersonate-User).
 * - Admission: the default plugin set (NamespaceLifecycle, LimitRanger, ServiceAccount,
 *   PodSecurity, Priority, DefaultTolerationSeconds, ResourceQuota, the webhook/policy
 *   plugins, ...) minus StorageObjectInUseProtection: without the controller-manager
 *   nobody would remove its PVC/PV protection finalizers, so deleting a PVC would hang.
 *   ServiceAccount admission stays on: a Pod naming a ServiceAccount that does not exist
 *   is rejected, as in a real cluster. The `default` ServiceAccount that the controller-
 *   manager would create in every namespace is created by a small watcher here
 *   (option defaultServiceAccounts, default true); the admission plugin retries the
 *   `default` lookup for ~1 s, which covers the watcher's latency.
 * - --allow-privileged, --service-cluster-ip-range 10.96.0.0/16 (Service ClusterIPs are
 *   allocated by the apiserver itself), etcd with --unsafe-no-fsync (test speed).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import net from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { applyManifests, kubeRequest, kubeWatch, type KubeClientConfig } from './kube-apply.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface KubeApiServerOptions {
  /** Install the shared third-party CRDs (default true). */
  installCrds?: boolean;
  /** Directory with the CRD YAML files (default <shared>/crds). */
  crdDir?: string;
  /** Create the `default` ServiceAccount in every namespace, like the controller-manager (default true). */
  defaultServiceAccounts?: boolean;
  /** Extra kube-apiserver flags, e.g. ['--feature-gates=Foo=true'] (appended; later flags win). */
  extraApiServerArgs?: string[];
  /** Timeout for etcd + apiserver readiness and CRD establishment (default 120 s). */
  readyTimeoutMs?: number;
  /** Keep the temp dir (logs, certs, etcd data) after close(); also when KAFKA_CDK8S_KEEP_KUBE=1. */
  keepDir?: boolean;
}

export interface KubeApiServer {
  /** https://127.0.0.1:<port> */
  readonly url: string;
  /** Bearer token of a system:masters user. */
  readonly token: string;
  /** PEM file of the CA that signed the serving certificate. */
  readonly caFile: string;
  /** The CA certificate (PEM). */
  readonly caData: string;
  /** A kubeconfig file (context `kafka-cdk8s-test`, namespace default) in the temp dir. */
  readonly kubeconfigPath: string;
  /**
   * A client-node KubeConfig for the same context (loaded from kubeconfigPath). client-node
   * is pinned to 1.x: 2.x needs Node >= 22.19 (undici 8), and we support Node 20.
   */
  readonly kubeConfig: KubeConfig;
  /** Minimal connection (server, CA, token) for kube-apply.ts; works on any Node version. */
  readonly client: KubeClientConfig;
  /** Temp dir: certs, tokens.csv, kubeconfig, etcd data, *.log. */
  readonly dir: string;
  readonly etcdUrl: string;
  readonly apiServerLog: string;
  readonly etcdLog: string;
  /** Milliseconds from the call until ready (CRDs included). */
  readonly startMs: number;
  /** Stops both processes and removes the temp dir (unless kept). Idempotent. */
  close(): Promise<void>;
}

/** Paths of the pinned binaries, whether or not they exist. */
export function kubeBinaries(): { kubeApiServer: string; etcd: string; kubernetesVersion: string; etcdVersion: string } {
  const versions = JSON.parse(readFileSync(join(REPO_ROOT, 'versions.json'), 'utf8')) as Record<string, string>;
  const cache = process.env.KAFKA_CDK8S_CACHE || join(homedir(), '.cache', 'kafka-cdk8s');
  const kubernetesVersion = versions.kubernetes!;
  const etcdVersion = versions.etcd!;
  return {
    kubeApiServer: process.env.KAFKA_CDK8S_KUBE_APISERVER || join(cache, `kube-${kubernetesVersion}`, 'bin', 'kube-apiserver'),
    etcd: process.env.KAFKA_CDK8S_ETCD || join(cache, `etcd-${etcdVersion}`, 'bin', 'etcd'),
    kubernetesVersion,
    etcdVersion,
  };
}

/** <repo>/../shared/crds, or $KAFKA_CDK8S_SHARED/crds. */
export function sharedCrdDir(): string {
  const shared = process.env.KAFKA_CDK8S_SHARED || resolve(REPO_ROOT, '..', 'shared');
  return join(shared, 'crds');
}

export async function freePort(): Promise<number> {
  return await new Promise((res, rej) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => res(port));
    });
  });
}

function openssl(dir: string, args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.error) throw new Error(`openssl not runnable: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
}

function makeCertificates(dir: string): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(dir, ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '7', '-subj', '/CN=kafka-cdk8s-test-ca']);
  openssl(dir, ['req', '-new', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=kube-apiserver']);
  writeFileSync(
    join(dir, 'server.ext'),
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local',
      '',
    ].join('\n'),
  );
  openssl(dir, ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '7', '-extfile', 'server.ext']);
  openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', 'sa.key']);
  openssl(dir, ['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

// Processes of every live server of this Node process, killed synchronously on exit.
const live = new Set<{ procs: ChildProcess[]; dir: string; keep: boolean }>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const s of live) {
      for (const p of s.procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
      if (!s.keep) rmSync(s.dir, { recursive: true, force: true });
    }
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

async function waitExit(p: ChildProcess, ms: number): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  await new Promise<void>((res) => {
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      res();
    }, ms);
    p.once('exit', () => {
      clearTimeout(t);
      res();
    });
  });
}

export async function startKubeApiServer(opts: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  const t0 = Date.now();
  const bins = kubeBinaries();
  for (const [what, path] of [['kube-apiserver', bins.kubeApiServer], ['etcd', bins.etcd]] as const) {
    if (!existsSync(path)) {
      throw new Error(`${what} binary not found at ${path}; run: bash test/bed/install-kube.sh`);
    }
  }
  const timeoutMs = opts.readyTimeoutMs ?? 120_000;
  const deadline = t0 + timeoutMs;
  const keep = opts.keepDir ?? process.env.KAFKA_CDK8S_KEEP_KUBE === '1';
  const dir = mkdtempSync(join(tmpdir(), 'kafka-cdk8s-kube-'));
  const entry = { procs: [] as ChildProcess[], dir, keep };
  installExitHook();
  live.add(entry);

  let closed = false;
  let stopWatcher: (() => void) | undefined;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    stopWatcher?.();
    const [etcd, api] = entry.procs;
    if (api) {
      api.kill('SIGTERM');
      await waitExit(api, 5_000);
    }
    if (etcd) {
      etcd.kill('SIGTERM');
      await waitExit(etcd, 5_000);
    }
    live.delete(entry);
    if (!keep) rmSync(dir, { recursive: true, force: true });
  };

  try {
    makeCertificates(dir);
    const token = randomBytes(24).toString('hex');
    writeFileSync(join(dir, 'tokens.csv'), `${token},kafka-cdk8s-test-admin,kafka-cdk8s-test-admin,"system:masters"\n`, { mode: 0o600 });

    const [clientPort, peerPort, apiPort] = await distinctFreePorts(3);
    const etcdUrl = `http://127.0.0.1:${clientPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const etcdLog = join(dir, 'etcd.log');
    const apiServerLog = join(dir, 'kube-apiserver.log');

    const spawnLogged = (bin: string, args: string[], log: string): ChildProcess => {
      const fd = openSync(log, 'a');
      const p = spawn(bin, args, { cwd: dir, stdio: ['ignore', fd, fd] });
      closeSync(fd);
      entry.procs.push(p);
      return p;
    };
    const etcd = spawnLogged(
      bins.etcd,
      [
        '--name=default',
        `--data-dir=${join(dir, 'etcd-data')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=default=${peerUrl}`,
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
      etcdLog,
    );
    // The apiserver retries its etcd connection, so start both at once.
    const api = spawnLogged(
      bins.kubeApiServer,
      [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        `--cert-dir=${dir}`,
        `--tls-cert-file=${join(dir, 'server.crt')}`,
        `--tls-private-key-file=${join(dir, 'server.key')}`,
        `--client-ca-file=${join(dir, 'ca.crt')}`,
        `--token-auth-file=${join(dir, 'tokens.csv')}`,
        '--authorization-mode=RBAC',
        '--anonymous-auth=false',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${join(dir, 'sa.pub')}`,
        `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
        '--api-audiences=https://kubernetes.default.svc.cluster.local',
        '--service-cluster-ip-range=10.96.0.0/16',
        '--allow-privileged=true',
        '--disable-admission-plugins=StorageObjectInUseProtection',
        '--endpoint-reconciler-type=none',
        '--profiling=false',
        '--v=1',
        ...(opts.extraApiServerArgs ?? []),
      ],
      apiServerLog,
    );
    const died = (p: ChildProcess, name: string, log: string): string | undefined =>
      p.exitCode !== null || p.signalCode !== null
        ? `${name} exited (${p.exitCode ?? p.signalCode}); last log lines of ${log}:\n${tail(log)}`
        : undefined;

    const url = `https://127.0.0.1:${apiPort}`;
    const caFile = join(dir, 'ca.crt');
    const caData = readFileSync(caFile, 'utf8');
    const ctx = 'kafka-cdk8s-test';
    const client = new StaticKubeClient(url, caData, token);
    const kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfigPath,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: ctx, cluster: { server: url, 'certificate-authority-data': Buffer.from(caData).toString('base64') } }],
        users: [{ name: ctx, user: { token } }],
        contexts: [{ name: ctx, context: { cluster: ctx, user: ctx, namespace: 'default' } }],
        'current-context': ctx,
      }),
      { mode: 0o600 },
    );

    // Wait for /readyz (all post-start hooks, incl. RBAC bootstrap roles).
    let last = '';
    for (;;) {
      const why = died(etcd, 'etcd', etcdLog) ?? died(api, 'kube-apiserver', apiServerLog);
      if (why) throw new Error(why);
      try {
        const r = await kubeRequest(client, 'GET', '/readyz');
        if (r.statusCode === 200) break;
        last = `${r.statusCode} ${r.text.split('\n').filter((l) => l.includes('[-]')).join('; ')}`;
      } catch (e) {
        last = (e as Error).message;
      }
      if (Date.now() > deadline) {
        throw new Error(`kube-apiserver not ready after ${timeoutMs} ms (${last}); last log lines of ${apiServerLog}:\n${tail(apiServerLog)}`);
      }
      await new Promise((r) => setTimeout(r, 150));
    }

    if (opts.defaultServiceAccounts ?? true) {
      stopWatcher = await startDefaultServiceAccountWatcher(client, () => closed);
    }

    if (opts.installCrds ?? true) {
      const crdDir = opts.crdDir ?? sharedCrdDir();
      if (!existsSync(crdDir)) throw new Error(`CRD directory ${crdDir} not found (set KAFKA_CDK8S_SHARED to the shared/ dir)`);
      const files = readdirSync(crdDir).filter((f) => /\.ya?ml$/.test(f)).sort();
      const text = files.map((f) => readFileSync(join(crdDir, f), 'utf8')).join('\n---\n');
      await applyManifests(client, text, { fieldManager: 'kafka-cdk8s-test-bed', crdTimeoutMs: Math.max(5_000, deadline - Date.now()) });
    }

    let loadedKubeConfig: KubeConfig | undefined;
    return {
      url,
      token,
      caFile,
      caData,
      kubeconfigPath,
      get kubeConfig(): KubeConfig {
        if (!loadedKubeConfig) {
          loadedKubeConfig = new KubeConfig();
          loadedKubeConfig.loadFromFile(kubeconfigPath);
        }
        return loadedKubeConfig;
      },
      client,
      dir,
      etcdUrl,
      apiServerLog,
      etcdLog,
      startMs: Date.now() - t0,
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

async function distinctFreePorts(n: number): Promise<number[]> {
  const out = new Set<number>();
  while (out.size < n) out.add(await freePort());
  return [...out];
}

/** Server URL + CA + bearer token, in the shape kube-apply.ts needs. */
export class StaticKubeClient implements KubeClientConfig {
  constructor(
    readonly server: string,
    readonly caData: string,
    readonly token: string,
  ) {}
  getCurrentCluster(): { name: string; server: string } {
    return { name: 'kafka-cdk8s-test', server: this.server };
  }
  async applyToHTTPSOptions(opts: https.RequestOptions): Promise<void> {
    opts.ca = this.caData;
    opts.headers = { ...(opts.headers as Record<string, string> | undefined), Authorization: `Bearer ${this.token}` };
  }
}

/**
 * Stand-in for the controller-manager's serviceaccount controller: creates the `default`
 * ServiceAccount in every namespace (existing and new). Returns a stop function.
 */
async function startDefaultServiceAccountWatcher(kc: KubeClientConfig, isClosed: () => boolean): Promise<() => void> {
  const ensure = async (ns: string): Promise<void> => {
    const r = await kubeRequest(kc, 'POST', `/api/v1/namespaces/${encodeURIComponent(ns)}/serviceaccounts`, {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'default' },
    });
    // 409: exists; 403/404: namespace terminating or gone
    if (r.statusCode >= 500 && !isClosed()) process.emitWarning(`test bed: creating default ServiceAccount in ${ns}: ${r.statusCode} ${r.text}`);
  };
  let stopped = false;
  let current: { stop(): void } | undefined;
  const run = async (): Promise<void> => {
    while (!stopped && !isClosed()) {
      try {
        const list = await kubeRequest(kc, 'GET', '/api/v1/namespaces');
        await Promise.all((list.body?.items ?? []).map((n: { metadata: { name: string } }) => ensure(n.metadata.name)));
        if (stopped) return;
        const w = await kubeWatch(kc, '/api/v1/namespaces', { resourceVersion: String(list.body?.metadata?.resourceVersion ?? '') }, (e) => {
          if (e.type === 'ADDED' && e.object?.metadata?.name) void ensure(e.object.metadata.name).catch(() => {});
        });
        current = w;
        await w.done;
      } catch {
        // server going away or a transient error: retry below unless stopped
      }
      if (!stopped) await new Promise((r) => setTimeout(r, 200));
    }
  };
  // the first list+ensure happens before startKubeApiServer resolves
  const list = await kubeRequest(kc, 'GET', '/api/v1/namespaces');
  await Promise.all((list.body?.items ?? []).map((n: { metadata: { name: string } }) => ensure(n.metadata.name)));
  void run();
  return () => {
    stopped = true;
    current?.stop();
  };
}
