/**
 * TLS for our own Kafka connections (KafkaConnection / KafkaAdmin's `socketFactory`), and a
 * probe of which certificate a node serves, so the controller can tell whether a broker has
 * picked up a renewed certificate.
 */
import { isIP } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { describeCertificate, type CertificateDescription } from '../../../tls/pki.js';
import { formatAddress, parseAddress, type BrokerAddress, type SocketFactory } from './connection.js';

export interface TlsClientOptions {
  /** PEM CA certificate(s) to trust (the Secret's ca.crt). */
  readonly ca: string | readonly string[];
  /** Client certificate chain (PEM), for listeners with ssl.client.auth=required|requested. */
  readonly cert?: string;
  /** Its PKCS#8 private key (PEM). */
  readonly key?: string;
  /** Name to verify the server certificate against. @default the address' host */
  readonly servername?: string;
}

/** OpenSSL/Node error codes meaning "the peer's certificate was not accepted". */
const VERIFY_CODES = new Set([
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'INVALID_PURPOSE',
]);

function connectOptions(address: BrokerAddress, opts: TlsClientOptions, rejectUnauthorized: boolean): ConnectionOptions {
  return {
    host: address.host,
    port: address.port,
    ca: typeof opts.ca === 'string' ? opts.ca : [...opts.ca],
    cert: opts.cert,
    key: opts.key,
    // SNI must not carry an IP (RFC 6066); without servername Node checks the host, IP SANs included.
    servername: opts.servername ?? (isIP(address.host) ? undefined : address.host),
    rejectUnauthorized,
  };
}

/** Alerts a server sends when it refuses our client certificate, or its absence. */
const CLIENT_CERT_REFUSED = /alert (bad certificate|certificate required|unknown ca|certificate unknown|certificate expired)/;

/** Says which side refused which certificate, instead of a bare OpenSSL code. */
function explainVerifyErrors(s: TLSSocket, address: BrokerAddress, opts: TlsClientOptions): void {
  s.prependListener('error', (err: NodeJS.ErrnoException) => {
    if (err.code && VERIFY_CODES.has(err.code)) {
      err.message = `TLS: the certificate of ${formatAddress(address)} was not accepted (checked name: ${opts.servername ?? address.host}): ${err.message} [${err.code}]`;
    } else if (CLIENT_CERT_REFUSED.test(err.message)) {
      const ours = opts.cert ? 'our client certificate' : 'a connection without a client certificate';
      err.message = `TLS: ${formatAddress(address)} refused ${ours}: ${err.message}`;
    }
  });
}

/** A SocketFactory speaking TLS; `onConnect` runs after the handshake verified the server. */
export function tlsSocketFactory(opts: TlsClientOptions): SocketFactory {
  return (address, onConnect) => {
    const s = tlsConnect(connectOptions(address, opts, true), onConnect);
    s.setNoDelay(true);
    explainVerifyErrors(s, address, opts);
    return s;
  };
}

export interface ServedCertificateOptions extends TlsClientOptions {
  /** Verify the chain and name (default). false: report what is served even when it would be refused. */
  readonly verify?: boolean;
  /** @default 10 s */
  readonly timeoutMs?: number;
}

/** The leaf certificate a node serves on a TLS listener (one handshake, no Kafka request). */
export function servedCertificate(address: BrokerAddress | string, opts: ServedCertificateOptions): Promise<CertificateDescription> {
  const addr = typeof address === 'string' ? parseAddress(address) : address;
  return new Promise((resolve, reject) => {
    const s = tlsConnect(connectOptions(addr, opts, opts.verify ?? true));
    explainVerifyErrors(s, addr, opts);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`TLS handshake with ${formatAddress(addr)} timed out after ${opts.timeoutMs ?? 10_000} ms`));
    }, opts.timeoutMs ?? 10_000);
    s.once('secureConnect', () => {
      clearTimeout(timer);
      const peer = s.getPeerCertificate();
      s.destroy();
      if (!peer?.raw) reject(new Error(`${formatAddress(addr)} sent no certificate`));
      else resolve(describeCertificate(peer.raw));
    });
    s.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
