/**
 * A minimal Kubernetes REST client over node:https: one request, one watch stream. The
 * controller needs a handful of calls, sent as plain JSON (no generated models that drop
 * fields they do not know), on Node 20 and later (client-node 2.x needs Node >= 22.19).
 */
import https from 'node:https';
import http from 'node:http';

/**
 * What these helpers need of a cluster connection. A @kubernetes/client-node KubeConfig
 * satisfies it, and so does KubeConnection (connection.ts).
 */
export interface KubeClientConfig {
  getCurrentCluster(): { server: string } | null;
  applyToHTTPSOptions(opts: https.RequestOptions): Promise<void>;
}

export interface KubeResponse {
  statusCode: number;
  body: any;
  text: string;
}

/** One HTTP request to the cluster of kubeConfig's current context. Never throws on HTTP status. */
export async function kubeRequest(
  kubeConfig: KubeClientConfig,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<KubeResponse> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('kubeConfig has no current cluster');
  const url = new URL(path, cluster.server);
  const opts: https.RequestOptions = { method, headers: { Accept: 'application/json' } };
  await kubeConfig.applyToHTTPSOptions(opts);
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const headers = (opts.headers ?? {}) as Record<string, string>;
  if (payload !== undefined) {
    headers['Content-Type'] = contentType;
    headers['Content-Length'] = String(Buffer.byteLength(payload));
  }
  opts.headers = headers;
  const mod = url.protocol === 'http:' ? http : https;
  return await new Promise<KubeResponse>((resolve, reject) => {
    const req = mod.request(url, opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = undefined;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {
          parsed = undefined;
        }
        resolve({ statusCode: res.statusCode ?? 0, body: parsed, text });
      });
    });
    req.on('error', reject);
    req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${url.pathname}: timed out`)));
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

export interface KubeWatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: any;
}

/**
 * Streams a watch (`GET path?watch=1&...`), calling onEvent per event. `done` resolves
 * when the server ends the stream (timeout) or stop() is called, and rejects on a
 * connection error or a non-200 answer. Restarting is the caller's business.
 */
export async function kubeWatch(
  kubeConfig: KubeClientConfig,
  path: string,
  query: Record<string, string>,
  onEvent: (e: KubeWatchEvent) => void,
): Promise<{ stop(): void; done: Promise<void> }> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('kubeConfig has no current cluster');
  const url = new URL(path, cluster.server);
  for (const [k, v] of Object.entries({ ...query, watch: '1' })) url.searchParams.set(k, v);
  const opts: https.RequestOptions = { method: 'GET', headers: { Accept: 'application/json' } };
  await kubeConfig.applyToHTTPSOptions(opts);
  const mod = url.protocol === 'http:' ? http : https;
  let req: http.ClientRequest | undefined;
  let stopped = false;
  const done = new Promise<void>((resolve, reject) => {
    req = mod.request(url, opts, (res) => {
      if (res.statusCode !== 200) {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString('utf8')));
        res.on('end', () => reject(new Error(`watch ${url.pathname}: ${res.statusCode} ${text}`)));
        return;
      }
      let buf = '';
      res.on('data', (c: Buffer) => {
        buf += c.toString('utf8');
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line) onEvent(JSON.parse(line) as KubeWatchEvent);
        }
      });
      res.on('end', () => resolve());
      res.on('error', (e) => (stopped ? resolve() : reject(e)));
      res.on('aborted', () => resolve());
    });
    req.on('error', (e) => (stopped ? resolve() : reject(e)));
    req.end();
  });
  return {
    stop() {
      stopped = true;
      req?.destroy();
    },
    done,
  };
}

