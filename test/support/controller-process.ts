/**
 * The runtime controller as its own process (the built CLI, `kafka-cdk8s controller`), the
 * way it runs in its Deployment: so tests can kill -9 it at any moment and start it again.
 * It talks to the test bed's API server with the token of its own ServiceAccount (so its
 * Role is what it is allowed), and to Kafka through the pod runner's loopback addresses.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { atExit } from './process-groups.js';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './kube-server.js';
import { kubeRequest, type KubeClientConfig } from './kube-apply.js';
import { allocatePort } from './ports.js';

export interface ControllerProcessOptions {
  readonly kube: KubeClientConfig & { server?: string };
  readonly server: string;
  readonly caData: string;
  readonly namespace: string;
  readonly cluster: string;
  readonly bootstrap: readonly string[];
  readonly failureThreshold?: number;
  readonly alertmanagerUrl?: string;
  readonly leaseSeconds?: number;
  /** Lease holder identity. @default 'bed-controller' (a restarted process takes its own Lease back at once) */
  readonly identity?: string;
}

export class ControllerProcess {
  private child?: ChildProcess;
  private exited?: Promise<void>;
  readonly dir: string;
  readonly logFile: string;
  readonly port: number;
  starts = 0;

  private constructor(private readonly opts: ControllerProcessOptions, private readonly kubeconfig: string, dir: string, port: number) {
    this.dir = dir;
    this.logFile = join(dir, 'controller.log');
    this.port = port;
  }

  /** Gets a token of the cluster's operator ServiceAccount and starts the controller with it. */
  static async start(opts: ControllerProcessOptions): Promise<ControllerProcess> {
    const sa = `${opts.cluster}-operator`;
    const res = await kubeRequest(opts.kube, 'POST', `/api/v1/namespaces/${opts.namespace}/serviceaccounts/${sa}/token`, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: 7200 },
    });
    if (res.statusCode !== 201) throw new Error(`TokenRequest for ServiceAccount ${sa}: ${res.statusCode} ${res.text}`);
    const dir = mkdtempSync(join(tmpdir(), 'kafka-cdk8s-controller-'));
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'operator',
      clusters: [{ name: 'bed', cluster: { server: opts.server, 'certificate-authority-data': Buffer.from(opts.caData).toString('base64') } }],
      users: [{ name: sa, user: { token: res.body.status.token } }],
      contexts: [{ name: 'operator', context: { cluster: 'bed', user: sa, namespace: opts.namespace } }],
    }));
    const p = new ControllerProcess(opts, kubeconfig, dir, await allocatePort());
    p.spawn();
    return p;
  }

  private spawn(): void {
    const o = this.opts;
    const args = [
      join(REPO_ROOT, 'bin', 'kafka-cdk8s.js'), 'controller',
      '--namespace', o.namespace, '--cluster', o.cluster, '--bootstrap', o.bootstrap.join(','),
      '--kubeconfig', this.kubeconfig, '--identity', o.identity ?? 'bed-controller', '--listen', `127.0.0.1:${this.port}`,
      '--failure-threshold', String(o.failureThreshold ?? 0), '--lease-seconds', String(o.leaseSeconds ?? 15),
      ...(o.alertmanagerUrl ? ['--alertmanager-url', o.alertmanagerUrl] : []),
    ];
    const out = openSync(this.logFile, 'a');
    try {
      this.child = spawn(process.execPath, args, { stdio: ['ignore', out, out], cwd: REPO_ROOT });
    } finally {
      closeSync(out);
    }
    this.starts++;
    const child = this.child;
    // Never outlives the test process, whatever ends it.
    const release = atExit(() => child.kill('SIGKILL'));
    this.exited = new Promise((resolve) => child.once('exit', () => { release(); resolve(); }));
  }

  get pid(): number {
    return this.child?.pid ?? -1;
  }

  /** kill -9, as a crash; resolves once it is gone. */
  async kill9(): Promise<void> {
    this.child?.kill('SIGKILL');
    await this.exited;
  }

  /** Starts it again (after kill9 or stop). */
  restart(): void {
    this.spawn();
  }

  async stop(): Promise<void> {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child?.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(t);
  }

  /** Its JSON log lines, parsed. */
  logs(): Array<Record<string, unknown>> {
    return readFileSync(this.logFile, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  tail(lines = 40): string {
    return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
  }

  async healthz(): Promise<{ status: number; text: string }> {
    const res = await fetch(`http://127.0.0.1:${this.port}/healthz`);
    return { status: res.status, text: await res.text() };
  }

  async metrics(): Promise<string> {
    return (await fetch(`http://127.0.0.1:${this.port}/metrics`)).text();
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
