/**
 * A real kube-apiserver (+ etcd + kube-controller-manager) on 127.0.0.1 for integration
 * tests (issue #4).
 *
 *   const kube = await startKubeApiServer();
 *   try { await applyManifests(kube.client, yaml); ... } finally { await kube.close(); }
 *
 * kube.client is a minimal connection for kube-apply.ts; kube.kubeConfig is a
 * @kubernetes/client-node KubeConfig for the same context.
 *
 * Binaries come from `bash test/bed/install-kube.sh` (versions from versions.json, in
 * ${KAFKA_CDK8S_CACHE:-~/.cache/kafka-cdk8s}); override with KAFKA_CDK8S_KUBE_APISERVER /
 * KAFKA_CDK8S_KUBE_CONTROLLER_MANAGER / KAFKA_CDK8S_ETCD. The third-party CRDs the repo
 * keeps in imports/crds are installed and Established before this resolves.
 *
 * What the server is (and is not):
 * - etcd + kube-apiserver + kube-controller-manager; no scheduler and no kubelet: Pods are
 *   never scheduled or run by the bed itself (a test "pod runner" binds them, runs them and
 *   sets pods/status, and registers its Node).
 * - The controller-manager runs only the controllers a real cluster would apply to our
 *   objects: garbage collection (ownerReferences are followed), disruption (PDB status, so
 *   the Eviction API answers as in a real cluster), namespace (a deleted Namespace is
 *   emptied and goes away), endpoints and EndpointSlices, serviceaccount (the `default`
 *   ServiceAccount in every namespace) and serviceaccount-token, root-ca-cert-publisher
 *   (kube-root-ca.crt), pvc/pv-protection, clusterrole-aggregation (admin/edit/view get
 *   their rules). Left out on purpose: node-lifecycle and taint-eviction (the pod runner
 *   sends no kubelet heartbeat: they would mark its Node NotReady and evict its Pods),
 *   pod-GC (it deletes Pods it takes for orphaned), and everything that runs workloads
 *   or storage (deployment, job, volume binding, ...). One admin token
 *   (--use-service-account-credentials=false), no leader election. Option
 *   controllerManager: false gives the bare apiserver of before, with a small watcher
 *   creating the `default` ServiceAccounts and without StorageObjectInUseProtection.
 * - Auth: one static bearer token (--token-auth-file), user `kafka-cdk8s-test-admin` in
 *   group system:masters; authorization RBAC (system:masters is bound to cluster-admin by
 *   the bootstrap policy), so the token may do everything, including pods/status and
 *   impersonation (tests can check the controller's RBAC with Impersonate-User).
 * - Admission: the default plugin set (NamespaceLifecycle, LimitRanger, ServiceAccount,
 *   PodSecurity, Priority, DefaultTolerationSeconds, ResourceQuota, StorageObject-
 *   InUseProtection, the webhook/policy plugins, ...). ServiceAccount admission is on: a
 *   Pod naming a ServiceAccount that does not exist is rejected, as in a real cluster. A
 *   deleted PVC goes away once no Pod uses it (pvc-protection finalizer).
 * - --allow-privileged, --service-cluster-ip-range 10.96.0.0/16 (Service ClusterIPs are
 *   allocated by the apiserver itself), etcd with --unsafe-no-fsync (test speed). Every
 *   port comes from the test-port allocator (ports.ts).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { applyManifests, kubeRequest, kubeWatch, type KubeClientConfig } from './kube-apply.js';
import { allocatePorts } from './ports.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The controllers the bed runs (see the header for why these and no others). Names as in
 * kube-controller-manager --controllers (cmd/kube-controller-manager/names).
 */
export const CONTROLLERS: readonly string[] = [
  'garbage-collector-controller',
  'disruption-controller',
  'namespace-controller',
  'endpoints-controller',
  'endpointslice-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'root-ca-certificate-publisher-controller',
  'persistentvolumeclaim-protection-controller',
  'persistentvolume-protection-controller',
  'clusterrole-aggregation-controller',
];

export interface KubeApiServerOptions {
  /** Install the third-party CRDs (default true). */
  installCrds?: boolean;
  /** Directory with the CRD YAML files (default <repo>/imports/crds). */
  crdDir?: string;
  /**
   * Run kube-controller-manager with the CONTROLLERS (default true). When false, a small
   * watcher stands in for its serviceaccount controller only.
   */
  controllerManager?: boolean;
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
  /** Log of kube-controller-manager (undefined when it does not run). */
  readonly controllerManagerLog?: string;
  /** Milliseconds from the call until ready (CRDs included). */
  readonly startMs: number;
  /** Stops every process and removes the temp dir (unless kept). Idempotent. */
  close(): Promise<void>;
}

/** Paths of the pinned binaries, whether or not they exist. */
export function kubeBinaries(): { kubeApiServer: string; kubeControllerManager: string; etcd: string; kubernetesVersion: string; etcdVersion: string } {
  const versions = JSON.parse(readFileSync(join(REPO_ROOT, 'versions.json'), 'utf8')) as Record<string, string>;
  const cache = process.env.KAFKA_CDK8S_CACHE || join(homedir(), '.cache', 'kafka-cdk8s');
  const kubernetesVersion = versions.kubernetes!;
  const etcdVersion = versions.etcd!;
  const kubeBin = join(cache, `kube-${kubernetesVersion}`, 'bin');
  return {
    kubeApiServer: process.env.KAFKA_CDK8S_KUBE_APISERVER || join(kubeBin, 'kube-apiserver'),
    kubeControllerManager: process.env.KAFKA_CDK8S_KUBE_CONTROLLER_MANAGER || join(kubeBin, 'kube-controller-manager'),
    etcd: process.env.KAFKA_CDK8S_ETCD || join(cache, `etcd-${etcdVersion}`, 'bin', 'etcd'),
    kubernetesVersion,
    etcdVersion,
  };
}

/** <repo>/imports/crds: the CRD files the repo keeps (imports/ is generated from them). */
export function repoCrdDir(): string {
  return join(REPO_ROOT, 'imports', 'crds');
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
  const withControllerManager = opts.controllerManager ?? true;
  const needed = [['kube-apiserver', bins.kubeApiServer], ['etcd', bins.etcd]];
  if (withControllerManager) needed.push(['kube-controller-manager', bins.kubeControllerManager]);
  for (const [what, path] of needed) {
    if (!existsSync(path!)) {
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
    // Reverse start order: the controller-manager, then the apiserver, then etcd.
    for (const p of [...entry.procs].reverse()) {
      p.kill('SIGTERM');
      await waitExit(p, 5_000);
    }
    live.delete(entry);
    if (!keep) rmSync(dir, { recursive: true, force: true });
  };

  try {
    makeCertificates(dir);
    const token = randomBytes(24).toString('hex');
    writeFileSync(join(dir, 'tokens.csv'), `${token},kafka-cdk8s-test-admin,kafka-cdk8s-test-admin,"system:masters"\n`, { mode: 0o600 });

    const [clientPort, peerPort, apiPort, controllerManagerPort] = await allocatePorts(4);
    const etcdUrl = `http://127.0.0.1:${clientPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const etcdLog = join(dir, 'etcd.log');
    const apiServerLog = join(dir, 'kube-apiserver.log');
    const controllerManagerLog = join(dir, 'kube-controller-manager.log');

    const running: Array<{ proc: ChildProcess; name: string; log: string }> = [];
    const spawnLogged = (name: string, bin: string, args: string[], log: string): ChildProcess => {
      const fd = openSync(log, 'a');
      const p = spawn(bin, args, { cwd: dir, stdio: ['ignore', fd, fd] });
      closeSync(fd);
      entry.procs.push(p);
      running.push({ proc: p, name, log });
      return p;
    };
    // Why a wait failed: a process that died (with its log), else the last answer seen.
    const failure = (what: string, last: string, log: string): Error => {
      for (const { proc, name, log: l } of running) {
        if (proc.exitCode !== null || proc.signalCode !== null) return new Error(`${name} exited (${proc.exitCode ?? proc.signalCode}); last log lines of ${l}:\n${tail(l)}`);
      }
      return new Error(`${what} after ${timeoutMs} ms (${last}); last log lines of ${log}:\n${tail(log)}`);
    };
    const anyDied = (): boolean => running.some(({ proc }) => proc.exitCode !== null || proc.signalCode !== null);

    spawnLogged(
      'etcd',
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
    spawnLogged(
      'kube-apiserver',
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
        // Without the pvc-protection controller nobody would remove the finalizer this
        // plugin adds, and deleting a PVC would hang.
        ...(withControllerManager ? [] : ['--disable-admission-plugins=StorageObjectInUseProtection']),
        '--endpoint-reconciler-type=none',
        '--profiling=false',
        '--v=1',
        ...(opts.extraApiServerArgs ?? []),
      ],
      apiServerLog,
    );

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
    const notReady = await poll(deadline, anyDied, async () => {
      const r = await kubeRequest(client, 'GET', '/readyz');
      return r.statusCode === 200 ? true : `${r.statusCode} ${r.text.split('\n').filter((l) => l.includes('[-]')).join('; ')}`;
    });
    if (notReady !== undefined) throw failure('kube-apiserver not ready', notReady, apiServerLog);

    if (opts.installCrds ?? true) {
      const crdDir = opts.crdDir ?? repoCrdDir();
      if (!existsSync(crdDir)) throw new Error(`CRD directory ${crdDir} not found`);
      const files = readdirSync(crdDir).filter((f) => /\.ya?ml$/.test(f)).sort();
      const text = files.map((f) => readFileSync(join(crdDir, f), 'utf8')).join('\n---\n');
      await applyManifests(client, text, { fieldManager: 'kafka-cdk8s-test-bed', crdTimeoutMs: Math.max(5_000, deadline - Date.now()) });
    }

    if (withControllerManager) {
      // After the CRDs, so that the garbage collector's first discovery already sees them
      // (it rediscovers only every 30 s).
      spawnLogged(
        'kube-controller-manager',
        bins.kubeControllerManager,
        [
          `--kubeconfig=${kubeconfigPath}`,
          '--leader-elect=false',
          '--use-service-account-credentials=false',
          `--controllers=${CONTROLLERS.join(',')}`,
          `--service-account-private-key-file=${join(dir, 'sa.key')}`,
          `--root-ca-file=${caFile}`,
          // /healthz is served on the secure port only; the apiserver's serving
          // certificate (SAN 127.0.0.1) serves here too, so the health check verifies it.
          '--bind-address=127.0.0.1',
          `--secure-port=${controllerManagerPort}`,
          `--tls-cert-file=${join(dir, 'server.crt')}`,
          `--tls-private-key-file=${join(dir, 'server.key')}`,
          '--profiling=false',
          '--v=1',
        ],
        controllerManagerLog,
      );
      const health = new StaticKubeClient(`https://127.0.0.1:${controllerManagerPort}`, caData, token);
      const unhealthy = await poll(deadline, anyDied, async () => {
        const r = await kubeRequest(health, 'GET', '/healthz');
        return r.statusCode === 200 ? true : `/healthz: ${r.statusCode} ${r.text}`;
      });
      if (unhealthy !== undefined) throw failure('kube-controller-manager not healthy', unhealthy, controllerManagerLog);
    } else {
      stopWatcher = await startDefaultServiceAccountWatcher(client, () => closed);
    }
    // The serviceaccount controller's first pass: Pods of the `default` namespace are admitted.
    const noServiceAccount = await poll(deadline, anyDied, async () => {
      const r = await kubeRequest(client, 'GET', '/api/v1/namespaces/default/serviceaccounts/default');
      return r.statusCode === 200 ? true : `default ServiceAccount: ${r.statusCode}`;
    });
    if (noServiceAccount !== undefined) throw failure('no default ServiceAccount', noServiceAccount, withControllerManager ? controllerManagerLog : apiServerLog);

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
      controllerManagerLog: withControllerManager ? controllerManagerLog : undefined,
      startMs: Date.now() - t0,
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

/**
 * Calls check every 150 ms until it returns true. Returns undefined then, or the last
 * answer (what was seen instead, or a connection error) when the deadline passes or
 * gaveUp() says so.
 */
async function poll(deadline: number, gaveUp: () => boolean, check: () => Promise<true | string>): Promise<string | undefined> {
  let last = '';
  for (;;) {
    if (gaveUp()) return last;
    try {
      const r = await check();
      if (r === true) return undefined;
      last = r;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > deadline) return last;
    await new Promise((r) => setTimeout(r, 150));
  }
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
