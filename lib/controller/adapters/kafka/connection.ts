/**
 * One TCP connection to one Kafka node: framing, correlation ids, pipelined requests with
 * timeouts, and ApiVersions negotiation on open. Socket creation is in one place
 * (`SocketFactory`) so TLS (and SASL, as a post-connect handshake) can be added there.
 */
import { connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { KafkaConnectionError, KafkaProtocolError } from './errors.js';
import { ApiVersions, type ApiVersionRange, type ApiVersionsResponse } from './requests.js';
import {
  FrameDecoder,
  Reader,
  decodeResponseBody,
  encodeRequest,
  frame,
  readResponseHeader,
  responseHeaderFlexible,
  type ApiDefinition,
} from './wire.js';

export interface BrokerAddress {
  host: string;
  port: number;
}

export function parseAddress(hostPort: string): BrokerAddress {
  const i = hostPort.lastIndexOf(':');
  if (i <= 0) throw new Error(`bad broker address "${hostPort}" (want host:port)`);
  const host = hostPort.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  const port = Number(hostPort.slice(i + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`bad port in "${hostPort}"`);
  return { host, port };
}

export function formatAddress(a: BrokerAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/**
 * Opens the byte stream to a node. Must call `onConnect` once the stream is ready for
 * requests (for TLS: after the handshake). The default is plaintext TCP.
 */
export type SocketFactory = (address: BrokerAddress, onConnect: () => void) => Duplex;

export const plaintextSocketFactory: SocketFactory = (address, onConnect) => {
  const s = netConnect({ host: address.host, port: address.port }, onConnect);
  s.setNoDelay(true);
  return s;
};

/** What a node's ApiVersions response says about features (KIP-584). */
export interface NodeFeatureInfo {
  supported: { name: string; minVersion: number; maxVersion: number }[];
  finalized: { name: string; maxVersionLevel: number; minVersionLevel: number }[];
  /** -1 when unknown. */
  finalizedEpoch: number;
}

export interface ConnectionOptions {
  clientId?: string;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  socketFactory?: SocketFactory;
}

interface Pending {
  resolve: (body: Reader) => void;
  reject: (err: Error) => void;
  headerFlexible: boolean;
  timer: NodeJS.Timeout;
}

const CLIENT_SOFTWARE_NAME = 'kafka-cdk8s';
const CLIENT_SOFTWARE_VERSION = '0.1.0';

export class KafkaConnection {
  private readonly pending = new Map<number, Pending>();
  private readonly decoder = new FrameDecoder();
  private nextCorrelationId = 1;
  private closedError: Error | null = null;
  private versions = new Map<number, ApiVersionRange>();
  private featureInfo: NodeFeatureInfo = { supported: [], finalized: [], finalizedEpoch: -1 };
  readonly broker: string;

  private constructor(
    private readonly socket: Duplex,
    readonly address: BrokerAddress,
    private readonly opts: Required<Omit<ConnectionOptions, 'socketFactory'>>,
  ) {
    this.broker = formatAddress(address);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(new KafkaConnectionError(err.message, this.broker, { cause: err })));
    socket.on('close', () => this.fail(new KafkaConnectionError('connection closed', this.broker)));
  }

  /** Connect and negotiate API versions. */
  static async open(address: BrokerAddress | string, options: ConnectionOptions = {}): Promise<KafkaConnection> {
    const addr = typeof address === 'string' ? parseAddress(address) : address;
    const opts = {
      clientId: options.clientId ?? 'kafka-cdk8s',
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    };
    const factory = options.socketFactory ?? plaintextSocketFactory;
    const socket = await new Promise<Duplex>((resolve, reject) => {
      let s: Duplex | undefined = undefined;
      const timer = setTimeout(() => {
        s?.destroy();
        reject(new KafkaConnectionError(`connect timed out after ${opts.connectTimeoutMs} ms`, formatAddress(addr)));
      }, opts.connectTimeoutMs);
      const onError = (err: Error): void => {
        clearTimeout(timer);
        reject(new KafkaConnectionError(`connect failed: ${err.message}`, formatAddress(addr), { cause: err }));
      };
      s = factory(addr, () => {
        clearTimeout(timer);
        s!.off('error', onError);
        resolve(s!);
      });
      s.once('error', onError);
    });
    const conn = new KafkaConnection(socket, addr, opts);
    try {
      await conn.negotiate();
    } catch (e) {
      conn.close();
      throw e;
    }
    return conn;
  }

  /** Broker-supported version range of an API key (after negotiation). */
  supportedVersions(apiKey: number): ApiVersionRange | undefined {
    return this.versions.get(apiKey);
  }

  /** Highest version both we and the broker support; throws UNSUPPORTED_VERSION otherwise. */
  versionFor(api: ApiDefinition<unknown, unknown>): number {
    const range = this.versions.get(api.apiKey);
    const max = Math.min(api.maxVersion, range?.maxVersion ?? -1);
    const min = Math.max(api.minVersion, range?.minVersion ?? Infinity);
    if (!range || max < min) {
      const theirs = range ? `${range.minVersion}-${range.maxVersion}` : 'none';
      throw new KafkaProtocolError(35, `we speak ${api.name} v${api.minVersion}-${api.maxVersion}, broker supports ${theirs}`, `${api.name} to ${this.broker}`);
    }
    return max;
  }

  /**
   * Features as of the last ApiVersions exchange (at open, or the last `refreshFeatures()`).
   * Finalized levels change over time: call refreshFeatures() for the current state.
   */
  get features(): NodeFeatureInfo {
    return this.featureInfo;
  }

  /** Ask the node again (ApiVersions) and return its current features. */
  async refreshFeatures(): Promise<NodeFeatureInfo> {
    const version = this.versionFor(ApiVersions);
    const res = await this.send(ApiVersions, { clientSoftwareName: CLIENT_SOFTWARE_NAME, clientSoftwareVersion: CLIENT_SOFTWARE_VERSION }, version);
    if (res.errorCode !== 0) throw new KafkaProtocolError(res.errorCode, null, `ApiVersions v${version} to ${this.broker}`);
    this.remember(res);
    return this.featureInfo;
  }

  /**
   * Send one request with the negotiated (or a given) version and decode the response.
   * `timeoutMs` overrides the connection's request timeout (for requests that carry a longer
   * server-side timeout of their own).
   */
  async send<Req, Res>(api: ApiDefinition<Req, Res>, req: Req, version = this.versionFor(api), timeoutMs = this.opts.requestTimeoutMs): Promise<Res> {
    const body = await this.roundTrip(api, version, req, timeoutMs);
    return decodeResponseBody(api, version, body);
  }

  close(): void {
    this.fail(new KafkaConnectionError('connection closed by client', this.broker));
    this.socket.destroy();
  }

  get closed(): boolean {
    return this.closedError !== null;
  }

  private async negotiate(): Promise<void> {
    // Try our highest ApiVersions version. A broker that does not know it answers
    // UNSUPPORTED_VERSION in a v0-format body, which fails to decode here; then retry at v0
    // and, when the broker speaks a flexible version we know, once more at that version:
    // only v3+ responses carry features.
    const req = { clientSoftwareName: CLIENT_SOFTWARE_NAME, clientSoftwareVersion: CLIENT_SOFTWARE_VERSION };
    let version = ApiVersions.maxVersion;
    let res: ApiVersionsResponse;
    try {
      res = await this.send(ApiVersions, req, version);
    } catch (e) {
      if (!(e instanceof Error) || e.name === 'KafkaConnectionError') throw e;
      version = 0;
      res = await this.send(ApiVersions, req, version);
      const theirs = res.apiKeys.find((k) => k.apiKey === ApiVersions.apiKey)?.maxVersion ?? 0;
      if (res.errorCode === 0 && theirs >= ApiVersions.firstFlexibleVersion) {
        version = Math.min(theirs, ApiVersions.maxVersion);
        res = await this.send(ApiVersions, req, version);
      }
    }
    if (res.errorCode !== 0) throw new KafkaProtocolError(res.errorCode, null, `ApiVersions v${version} to ${this.broker}`);
    this.remember(res);
  }

  private remember(res: ApiVersionsResponse): void {
    this.versions = new Map(res.apiKeys.map((k) => [k.apiKey, k]));
    this.featureInfo = { supported: res.supportedFeatures, finalized: res.finalizedFeatures, finalizedEpoch: res.finalizedFeaturesEpoch };
  }

  private roundTrip<Req>(api: ApiDefinition<Req, unknown>, version: number, req: Req, timeoutMs: number): Promise<Reader> {
    if (this.closedError) return Promise.reject(this.closedError);
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = this.nextCorrelationId >= 0x7fffffff ? 1 : this.nextCorrelationId + 1;
    const message = frame(encodeRequest(api, version, correlationId, this.opts.clientId, req));
    return new Promise<Reader>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        reject(new KafkaConnectionError(`${api.name} v${version} timed out after ${timeoutMs} ms`, this.broker));
      }, timeoutMs);
      this.pending.set(correlationId, { resolve, reject, headerFlexible: responseHeaderFlexible(api, version), timer });
      this.socket.write(message);
    });
  }

  private onData(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (e) {
      this.fail(new KafkaConnectionError((e as Error).message, this.broker, { cause: e }));
      this.socket.destroy();
      return;
    }
    for (const f of frames) {
      if (f.length < 4) continue;
      // The correlation id is always the first field; peek it to find the header version.
      const correlationId = f.readInt32BE(0);
      const p = this.pending.get(correlationId);
      if (!p) continue; // timed out earlier; drop
      this.pending.delete(correlationId);
      clearTimeout(p.timer);
      try {
        const r = new Reader(f);
        readResponseHeader(r, p.headerFlexible);
        p.resolve(r);
      } catch (e) {
        p.reject(e as Error);
      }
    }
  }

  private fail(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }
}
