/**
 * What a change of a listener's security protocol does, before it is made. Pure; `plan`
 * prints it. The EXTERNAL listener only serves clients: its brokers restart one at a
 * time and outside clients move with them. The INTERNAL listener also carries
 * replication and the runtime controller's connection: a broker restarted on the new
 * protocol can neither fetch from nor serve brokers still on the old one, so a rolling
 * restart stops at the first broker.
 */
import { securityProtocol } from '../config/listeners.js';
import type { ClusterModel } from '../spec/resolve.js';

export function listenerChange(previous: ReadonlyArray<{ readonly roles: readonly string[]; readonly properties: Readonly<Record<string, string>> }>, cluster: ClusterModel): string[] {
  const broker = previous.find((n) => n.roles.includes('broker'));
  if (!broker) return [];
  const before = new Map((broker.properties['listener.security.protocol.map'] ?? '').split(',').filter(Boolean).map((e) => e.split(':') as [string, string]));
  const notes: string[] = [];
  for (const l of cluster.listeners) {
    const was = before.get(l.name);
    const now = securityProtocol(l);
    if (!was || was === now) continue;
    if (l.name === 'INTERNAL') {
      notes.push(`listener INTERNAL ${was} → ${now}: not a rolling change. It carries replication and the runtime controller's connection, and a broker restarted on ${now} can neither fetch from nor serve the brokers still on ${was}: the roll stops at the first broker, which never catches up. `
        + 'Make this change on a new cluster, or with every broker and the controller stopped (see README "TLS")');
    } else {
      notes.push(`listener ${l.name} ${was} → ${now}: every broker restarts, one at a time; clients outside must switch to ${now} as their brokers do`);
    }
  }
  return notes;
}
