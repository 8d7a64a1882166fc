/**
 * Reads cluster specs from YAML text or files. A file may hold several
 * specs as separate YAML documents.
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { SpecValidationError } from './problems.js';

export interface SpecSource {
  /** The spec as parsed from YAML; not validated yet. */
  readonly spec: unknown;
  /** "file.yaml" or "file.yaml (document 2)", for messages. */
  readonly source: string;
}

/**
 * Aliases an anchor may be expanded to. The library's default (100) refuses
 * ordinary specs that share one broker template among many brokers; the
 * bound still stops an exponential "billion laughs" document.
 */
const MAX_ALIAS_COUNT = 100_000;

export function parseSpecYaml(text: string, source: string): SpecSource[] {
  // Merge keys (<<) are common in hand-written specs; integers are read as BigInt so a
  // 64-bit Kafka value is never rounded, then narrowed back to numbers where exact.
  const docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true, merge: true, intAsBigInt: true });
  const list = Array.isArray(docs) ? docs : [docs];
  const out: SpecSource[] = [];
  list.forEach((doc, i) => {
    const where = list.length > 1 ? `${source} (document ${i + 1})` : source;
    if (doc.errors.length > 0) {
      throw new SpecValidationError(doc.errors.map((e) => ({ path: '(yaml)', message: e.message.split('\n')[0]! })), where);
    }
    let spec: unknown;
    try {
      spec = narrowIntegers(doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }));
    } catch (err) {
      throw new SpecValidationError([{ path: '(yaml)', message: (err as Error).message }], where);
    }
    if (spec === null || spec === undefined) return; // an empty document, e.g. a trailing '---'
    out.push({ spec, source: where });
  });
  if (out.length === 0) throw new SpecValidationError([{ path: '(spec)', message: 'the file holds no cluster spec' }], source);
  return out;
}

/** BigInts that a JavaScript number holds exactly become numbers; larger ones stay BigInt. */
function narrowIntegers(value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  }
  if (Array.isArray(value)) return value.map(narrowIntegers);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = narrowIntegers(v);
    return out;
  }
  return value;
}

const READ_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EISDIR: 'it is a directory; give a YAML file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOTDIR: 'a part of the path is not a directory',
};

export function loadSpecFile(file: string): SpecSource[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    throw new Error(`cannot read spec file ${file}: ${READ_ERRORS[code] ?? (err as Error).message}`);
  }
  return parseSpecYaml(text, file);
}
