/**
 * Rules for the paths where a node's volumes are mounted. Each one becomes a
 * Kafka log dir, and log.dirs is a comma-separated list, so a path must be
 * plain; it must not hide the image's own files; and two volumes must not
 * nest, or Kafka would see one log dir inside another.
 */

/** Paths that must not be mounted over, nor anything under them. */
const RESERVED_TREES = ['/opt/kafka', '/etc/kafka-cdk8s', '/etc/kafka-cdk8s-tls', '/proc', '/sys', '/dev', '/bin', '/sbin', '/lib', '/lib64', '/usr'];
/** Paths that must not be mounted over themselves (their subdirectories are fine). */
const RESERVED_EXACT = ['/', '/etc', '/var', '/opt', '/home', '/root', '/run', '/tmp'];

/** Why `path` can't be a mount path, or undefined when it can. */
export function mountPathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return 'mountPath must be an absolute path';
  if (path === '/') return "mountPath must not be / itself: it would hide the image's files; use a directory under it";
  if (/[,\s]/.test(path)) return 'mountPath must not contain commas or whitespace: Kafka reads log.dirs as a comma-separated list';
  if (/[^\x21-\x7e]/.test(path)) return 'mountPath must be printable ASCII';
  if (path.length > 1 && path.endsWith('/')) return `mountPath must not end with '/' (write ${path.replace(/\/+$/, '') || '/'})`;
  const parts = path.split('/').slice(1);
  if (parts.some((p) => p === '' || p === '.' || p === '..')) return "mountPath must be a normalized path: no empty, '.' or '..' segments";
  const tree = RESERVED_TREES.find((t) => path === t || path.startsWith(`${t}/`));
  if (tree) return `mountPath must not be ${tree} or under it: that is ${tree === '/opt/kafka' ? "the image's Kafka installation" : tree === '/etc/kafka-cdk8s' ? "kafka-cdk8s's config directory" : tree === '/etc/kafka-cdk8s-tls' ? "where the node's TLS Secret is mounted" : 'a system directory'}`;
  if (RESERVED_EXACT.includes(path)) return `mountPath must not be ${path} itself: it would hide the image's files; use a directory under it`;
  return undefined;
}

/** True when one of the two (normalized) paths is inside the other. */
export function pathsNest(a: string, b: string): boolean {
  return a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
}
