/**
 * A renewed certificate reaches a running broker without a restart: the kubelet swaps
 * the Secret's files in the Pod (within a minute or two of the Secret changing), and
 * Kafka reloads its key and trust stores when it gets a dynamic update of their
 * location, even an unchanged one (KAFKA-7429, KAFKA-14136). Kafka does not watch the
 * files, so an update sent before the kubelet swapped them reloads the old files: the
 * controller checks which certificate the broker serves and sends the update again
 * until it serves the Secret's. Pure; the I/O is in controller/tls-reload.ts.
 */

/** How long to wait between two updates for one broker (the kubelet's sync period is about a minute). */
export const RELOAD_RETRY_MS = 20_000;
/** Without a way to look at the served certificate: updates this long after the Secret changed, then done. */
export const BLIND_RELOAD_DELAYS_MS: readonly number[] = [0, 60_000, 150_000];

export interface ReloadInput {
  /** SHA-256 of the Secret's leaf certificate. */
  readonly wanted: string;
  /** SHA-256 of the certificate the broker serves; undefined when it cannot be looked at. */
  readonly served?: string;
  /** When the controller first saw this Secret version. */
  readonly seenAt: number;
  /** The last update sent for this Secret version, if any. */
  readonly lastReloadAt?: number;
  /** How many updates were sent for this Secret version. */
  readonly reloads: number;
  readonly now: number;
}

export type ReloadStep =
  | { readonly kind: 'done' }
  | { readonly kind: 'reload'; readonly reason: string }
  | { readonly kind: 'wait' };

export function reloadStep(i: ReloadInput): ReloadStep {
  if (i.served !== undefined) {
    if (i.served === i.wanted) return { kind: 'done' };
    if (i.lastReloadAt !== undefined && i.now - i.lastReloadAt < RELOAD_RETRY_MS) return { kind: 'wait' };
    return { kind: 'reload', reason: i.reloads === 0 ? 'the broker serves another certificate than its Secret holds' : `the broker still serves its old certificate after ${i.reloads} update(s); the kubelet may not have swapped the files yet` };
  }
  if (i.reloads >= BLIND_RELOAD_DELAYS_MS.length) return { kind: 'done' };
  if (i.now - i.seenAt < BLIND_RELOAD_DELAYS_MS[i.reloads]!) return { kind: 'wait' };
  return { kind: 'reload', reason: `the Secret changed (update ${i.reloads + 1} of ${BLIND_RELOAD_DELAYS_MS.length}: the served certificate cannot be checked without TLS on the internal listener)` };
}

/**
 * The TLS listeners of a node, from its server.properties: those its `listeners` names whose
 * security protocol is SSL.
 */
export function tlsListeners(properties: Readonly<Record<string, string>>): string[] {
  const protocols = new Map((properties['listener.security.protocol.map'] ?? '').split(',').filter(Boolean).map((e) => {
    const [name, protocol] = e.split(':');
    return [name!.trim(), (protocol ?? '').trim()] as const;
  }));
  const own = (properties['listeners'] ?? '').split(',').map((l) => l.split('://')[0]!.trim()).filter(Boolean);
  return own.filter((name) => protocols.get(name) === 'SSL' || protocols.get(name) === 'SASL_SSL').sort();
}
