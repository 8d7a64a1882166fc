/**
 * Gets renewed certificates served by the running brokers, with no restart (the why is
 * in decide/tls-reload.ts). Per broker, per version of its Secret: look at the
 * certificate the broker serves on its INTERNAL listener (when the controller itself
 * speaks TLS there), and while it is not the Secret's, send the dynamic update that
 * makes Kafka reload its stores. What it remembers is only an optimisation: after a
 * restart of the controller it looks again, which costs one TLS handshake per broker.
 */
import type { KafkaAdmin } from './adapters/kafka/admin.js';
import type { KubeClient } from './adapters/kube/client.js';
import { servedCertificate, type TlsClientOptions } from './adapters/kafka/tls-socket.js';
import { parseAddress } from './adapters/kafka/connection.js';
import { reloadStep, tlsListeners } from './decide/tls-reload.js';
import type { NodeState } from './decide/node-state.js';
import { describeCertificate } from '../tls/pki.js';
import { TLS_CERT_KEY } from '../tls/secret-layout.js';
import { tlsReloadKeys } from '../config/tls-config.js';
import type { Logger } from './observability/index.js';

export interface TlsReloaderOptions {
  readonly kube: KubeClient;
  readonly kafka: KafkaAdmin;
  /** The controller's TLS client material for the INTERNAL listener; undefined: it is not TLS. */
  readonly client?: () => TlsClientOptions;
  readonly log: Logger;
  /** Records an Event on the node's Pod. */
  readonly event: (pod: string, type: 'Normal' | 'Warning', reason: string, message: string) => Promise<void>;
  readonly now?: () => number;
}

export interface TlsBroker {
  readonly state: NodeState;
  /** The node's TLS Secret. */
  readonly secretName: string;
  /** Its Pod runs and is Ready. */
  readonly ready: boolean;
}

/** Kafka's num.network.threads default. */
const DEFAULT_NETWORK_THREADS = 3;

interface Progress { readonly version: string; readonly seenAt: number; reloads: number; lastReloadAt?: number; done: boolean }

export class TlsReloader {
  private readonly progress = new Map<number, Progress>();

  constructor(private readonly o: TlsReloaderOptions) {}

  /** One pass over the brokers; returns how many still wait for their certificate to be served. */
  async reconcile(brokers: readonly TlsBroker[]): Promise<number> {
    const now = this.o.now ?? Date.now;
    let pending = 0;
    for (const b of brokers) {
      const listeners = tlsListeners(b.state.properties);
      if (!b.ready || listeners.length === 0) continue;
      const secret = await this.o.kube.getSecret(b.secretName);
      const pem = secret?.data?.[TLS_CERT_KEY];
      if (!secret || !pem) continue;
      const version = secret.metadata.resourceVersion ?? pem;
      let p = this.progress.get(b.state.id);
      if (!p || p.version !== version) {
        p = { version, seenAt: now(), reloads: 0, done: false };
        this.progress.set(b.state.id, p);
      }
      if (p.done) continue;
      const wanted = describeCertificate(Buffer.from(pem, 'base64').toString('utf8')).sha256Fingerprint;
      const served = await this.served(b.state);
      const step = reloadStep({ wanted, served, seenAt: p.seenAt, lastReloadAt: p.lastReloadAt, reloads: p.reloads, now: now() });
      if (step.kind === 'done') {
        p.done = true;
        if (p.reloads > 0) {
          this.o.log.info('A broker serves its renewed certificate', { node: b.state.name, updates: p.reloads });
          await this.o.event(b.state.name, 'Normal', 'CertificateReloaded', `Serves its renewed certificate (${wanted.slice(0, 23)}…) after ${p.reloads} dynamic update(s), with no restart`);
        }
        continue;
      }
      pending++;
      if (step.kind === 'wait') continue;
      p.reloads++;
      p.lastReloadAt = now();
      this.o.log.info('Asking a broker to reload its TLS stores', { node: b.state.name, listeners, reason: step.reason });
      try {
        await this.reload(b.state, listeners);
      } catch (err) {
        this.o.log.warn('A broker refused to reload its TLS stores', { node: b.state.name, err });
        await this.o.event(b.state.name, 'Warning', 'CertificateReloadFailed', `${(err as Error).message}. A renewal that changes the certificate's names is refused live (Kafka's ssl.allow.san.changes); the next restart of the node loads it.`);
      }
    }
    return pending;
  }

  /**
   * The fingerprint of what the broker serves on INTERNAL; undefined when the controller
   * cannot look, '' when the look failed. Each of Kafka's network threads reloads its own
   * TLS context, one after the other, and new connections go to them in turn: one
   * handshake per thread, so that "served" means served by all of them.
   */
  private async served(node: NodeState): Promise<string | undefined> {
    if (!this.o.client) return undefined;
    const address = advertised(node.properties, 'INTERNAL');
    if (!address) return undefined;
    const threads = Number(node.properties['num.network.threads'] ?? DEFAULT_NETWORK_THREADS);
    let first: string | undefined;
    try {
      for (let i = 0; i < Math.max(threads, 1) + 1; i++) {
        const seen = (await servedCertificate(address, { ...this.o.client(), servername: address.host, verify: false })).sha256Fingerprint;
        if (first !== undefined && seen !== first) return '';
        first = seen;
      }
      return first;
    } catch (err) {
      this.o.log.debug('Could not look at the certificate a broker serves', { node: node.name, err });
      return '';
    }
  }

  /**
   * Setting the stores' locations (to their unchanged values) makes Kafka reload the files
   * that changed. The override stays (the same value as server.properties): deleting it
   * right after could reach the broker in the same metadata batch and cancel the reload.
   * Kafka applies it when the broker replays the record, after the call returns: the
   * next pass looks at what is served.
   */
  private async reload(node: NodeState, listeners: readonly string[]): Promise<void> {
    const keys = listeners.flatMap((l) => Object.values(tlsReloadKeys(l))).filter((k) => node.properties[k] !== undefined);
    if (keys.length === 0) throw new Error(`${node.name}'s server.properties names no key or trust store location`);
    await this.o.kafka.alterBrokerConfigsIncremental(node.id, keys.map((name) => ({ name, op: 'SET' as const, value: node.properties[name]! })));
  }
}

function advertised(properties: Readonly<Record<string, string>>, listener: string): { host: string; port: number } | undefined {
  const entry = (properties['advertised.listeners'] ?? '').split(',').find((e) => e.startsWith(`${listener}://`));
  return entry ? parseAddress(entry.slice(listener.length + 3)) : undefined;
}
