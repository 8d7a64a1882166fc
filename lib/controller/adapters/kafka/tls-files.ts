/**
 * The controller's own TLS material, read from a mounted Secret (ca.crt, and tls.crt /
 * tls.key for mutual TLS) at every new connection: the kubelet swaps a renewed Secret
 * in place, and the next connection uses it with no restart.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { CA_CERT_KEY, TLS_CERT_KEY, TLS_KEY_KEY } from '../../../tls/secret-layout.js';
import { tlsSocketFactory, type TlsClientOptions } from './tls-socket.js';
import type { SocketFactory } from './connection.js';

/** The files of `dir` now; the client certificate only when both its files are there. */
export function readTlsFiles(dir: string): TlsClientOptions {
  const ca = join(dir, CA_CERT_KEY);
  if (!existsSync(ca)) throw new Error(`no ${CA_CERT_KEY} in ${dir}: the controller's TLS Secret is not mounted (yet)`);
  const cert = join(dir, TLS_CERT_KEY);
  const key = join(dir, TLS_KEY_KEY);
  const client = existsSync(cert) && existsSync(key) ? { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') } : {};
  return { ca: readFileSync(ca, 'utf8'), ...client };
}

/** Our socket factory, reading the files for each connection. */
export function tlsFilesSocketFactory(dir: string): SocketFactory {
  return (address, onConnect) => tlsSocketFactory(readTlsFiles(dir))(address, onConnect);
}

/**
 * kafkajs's `ssl` option, read at each connection: kafkajs copies this object into
 * tls.connect's options (Object.assign), which calls these getters then.
 */
export function kafkajsTlsFiles(dir: string): ConnectionOptions {
  const read = () => readTlsFiles(dir);
  return {
    get ca() { return read().ca as string; },
    get cert() { return read().cert; },
    get key() { return read().key; },
  } as ConnectionOptions;
}
