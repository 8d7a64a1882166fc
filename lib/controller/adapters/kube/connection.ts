/**
 * Where the API server is and who we are: in-cluster (the Pod's ServiceAccount token and
 * CA, re-read so that rotated tokens are used) or a kubeconfig file (current or named
 * context; token, token file or client certificate).
 */
import { readFileSync } from 'node:fs';
import type https from 'node:https';
import { load as loadYaml } from 'js-yaml';
import type { KubeClientConfig } from './rest.js';

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** The kubelet rotates projected tokens well before they expire; re-reading each minute is plenty. */
const TOKEN_REREAD_MS = 60_000;

export class KubeConnection implements KubeClientConfig {
  private token?: { value: string; readAt: number };

  private constructor(
    readonly server: string,
    private readonly tls: { ca?: string; cert?: string; key?: string; insecure?: boolean },
    private readonly auth: { token?: string; tokenFile?: string },
    /** The namespace of the context or of the Pod, if known. */
    readonly namespace?: string,
  ) {}

  /** In a Pod: the ServiceAccount's token and CA, the API server from the service env. */
  static inCluster(dir = SA_DIR): KubeConnection {
    const host = process.env.KUBERNETES_SERVICE_HOST;
    const port = process.env.KUBERNETES_SERVICE_PORT ?? '443';
    if (!host) throw new Error('not running in a Kubernetes Pod (KUBERNETES_SERVICE_HOST is not set); pass --kubeconfig');
    const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
    let namespace: string | undefined;
    try {
      namespace = readFileSync(`${dir}/namespace`, 'utf8').trim();
    } catch {
      namespace = undefined;
    }
    return new KubeConnection(server, { ca: readFileSync(`${dir}/ca.crt`, 'utf8') }, { tokenFile: `${dir}/token` }, namespace);
  }

  /** From a kubeconfig file: its current context, or `context`. */
  static fromKubeconfig(path: string, context?: string): KubeConnection {
    const doc = loadYaml(readFileSync(path, 'utf8')) as KubeconfigFile | undefined;
    const where = `kubeconfig ${path}`;
    const ctxName = context ?? doc?.['current-context'];
    const ctx = doc?.contexts?.find((c) => c.name === ctxName)?.context;
    if (!ctx) throw new Error(`${where}: no context ${JSON.stringify(ctxName)}`);
    const cluster = doc?.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
    if (!cluster?.server) throw new Error(`${where}: context ${ctxName} names cluster ${JSON.stringify(ctx.cluster)}, which has no server`);
    const user = doc?.users?.find((u) => u.name === ctx.user)?.user ?? {};
    const fileOrData = (file?: string, data?: string): string | undefined =>
      data ? Buffer.from(data, 'base64').toString('utf8') : file ? readFileSync(file, 'utf8') : undefined;
    return new KubeConnection(
      cluster.server,
      {
        ca: fileOrData(cluster['certificate-authority'], cluster['certificate-authority-data']),
        cert: fileOrData(user['client-certificate'], user['client-certificate-data']),
        key: fileOrData(user['client-key'], user['client-key-data']),
        insecure: cluster['insecure-skip-tls-verify'] === true,
      },
      { token: user.token, tokenFile: user.tokenFile ?? user['token-file'] },
      ctx.namespace,
    );
  }

  /** A server, CA and bearer token given directly. */
  static fromToken(server: string, ca: string, token: string): KubeConnection {
    return new KubeConnection(server, { ca }, { token });
  }

  getCurrentCluster(): { server: string } {
    return { server: this.server };
  }

  async applyToHTTPSOptions(opts: https.RequestOptions): Promise<void> {
    if (this.tls.ca) opts.ca = this.tls.ca;
    if (this.tls.cert) opts.cert = this.tls.cert;
    if (this.tls.key) opts.key = this.tls.key;
    if (this.tls.insecure) opts.rejectUnauthorized = false;
    const token = this.bearer();
    if (token) opts.headers = { ...(opts.headers as Record<string, string> | undefined), Authorization: `Bearer ${token}` };
  }

  private bearer(): string | undefined {
    if (this.auth.token) return this.auth.token;
    if (!this.auth.tokenFile) return undefined;
    if (!this.token || Date.now() - this.token.readAt > TOKEN_REREAD_MS) {
      this.token = { value: readFileSync(this.auth.tokenFile, 'utf8').trim(), readAt: Date.now() };
    }
    return this.token.value;
  }
}

interface KubeconfigFile {
  'current-context'?: string;
  contexts?: Array<{ name: string; context: { cluster: string; user: string; namespace?: string } }>;
  clusters?: Array<{ name: string; cluster: { server: string; 'certificate-authority'?: string; 'certificate-authority-data'?: string; 'insecure-skip-tls-verify'?: boolean } }>;
  users?: Array<{ name: string; user: { token?: string; tokenFile?: string; 'token-file'?: string; 'client-certificate'?: string; 'client-certificate-data'?: string; 'client-key'?: string; 'client-key-data'?: string } }>;
}
