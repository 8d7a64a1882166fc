/**
 * Canonical form of JSON data: object keys sorted at every depth, list order
 * kept (it carries meaning in Kubernetes). Two inputs that mean the same thing
 * then render to the same bytes and the same hash, whatever order a user or a
 * YAML formatter wrote the keys in.
 */
export function canonical<T>(value: T): T {
  if (Array.isArray(value)) return value.map((item) => canonical(item)) as T;
  if (typeof value !== 'object' || value === null) return value;
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(source).sort()) {
    if (source[key] !== undefined) out[key] = canonical(source[key]);
  }
  return out as T;
}

/** Orders strings by UTF-16 code units, as Array.prototype.sort does by default: locale-free, so output is the same everywhere. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
