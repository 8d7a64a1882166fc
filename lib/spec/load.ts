/**
 * Reads cluster specs from YAML text or files. A file may hold several
 * specs as separate YAML documents.
 */
import { readFileSync } from 'node:fs';
import { CORE_SCHEMA, NOT_RESOLVED, Schema, YAMLException, defineScalarTag, intCoreTag, loadAll, mergeTag } from 'js-yaml';
import { SpecValidationError } from './problems.js';

export interface SpecSource {
  /** The spec as parsed from YAML; not validated yet. */
  readonly spec: unknown;
  /** "file.yaml" or "file.yaml (document 2)", for messages. */
  readonly source: string;
}

/**
 * YAML 1.2 core integers, but one beyond JavaScript's exact range (2^53) is a
 * BigInt, so a 64-bit Kafka value is never rounded.
 */
const exactInt = defineScalarTag<number | bigint>(intCoreTag.tagName, {
  implicit: true,
  implicitFirstChars: intCoreTag.implicitFirstChars,
  resolve(source, isExplicit, tagName) {
    const n = intCoreTag.resolve(source, isExplicit, tagName);
    return n === NOT_RESOLVED || Number.isSafeInteger(n) ? n : BigInt(source);
  },
  identify: (data) => typeof data === 'bigint' || Number.isInteger(data),
});
/** The YAML 1.2 core schema with exact integers and merge keys (<<), common in hand-written specs. */
const SPEC_SCHEMA = new Schema([...CORE_SCHEMA.tags.map((t) => (t.tagName === intCoreTag.tagName ? exactInt : t)), mergeTag]);
/** Merge keys a document may use: one per broker of a very large spec, with room to spare. */
const MAX_MERGE_KEYS = 1_000_000;

/**
 * Reads every YAML document of `text` (js-yaml: the general-purpose parsers
 * that build a document tree took 10 s for a 4 MB spec). Aliases are shared
 * references; the walk that copies them is bounded, so a document that
 * expands exponentially ("billion laughs") is refused instead of filling memory.
 */
export function parseSpecYaml(text: string, source: string): SpecSource[] {
  let docs: unknown[];
  try {
    docs = loadAll(text, { schema: SPEC_SCHEMA, maxTotalMergeKeys: MAX_MERGE_KEYS });
  } catch (err) {
    const mark = err instanceof YAMLException ? err.mark : undefined;
    const message = err instanceof YAMLException ? err.reason : (err as Error).message;
    throw new SpecValidationError([{ path: '(yaml)', message: mark ? `${message} (line ${mark.line + 1}, column ${mark.column + 1})` : message }], source);
  }
  const out: SpecSource[] = [];
  const budget = { nodes: Math.max(1_000_000, 20 * text.length) };
  docs.forEach((doc, i) => {
    const where = docs.length > 1 ? `${source} (document ${i + 1})` : source;
    if (doc === null || doc === undefined) return; // an empty document, e.g. a trailing '---'
    let spec: unknown;
    try {
      spec = copyTree(doc, budget);
    } catch (err) {
      throw new SpecValidationError([{ path: '(yaml)', message: (err as Error).message }], where);
    }
    out.push({ spec, source: where });
  });
  if (out.length === 0) throw new SpecValidationError([{ path: '(spec)', message: 'the file holds no cluster spec' }], source);
  return out;
}

/** A deep copy (aliases become separate values), within a budget of nodes. */
function copyTree(value: unknown, budget: { nodes: number }): unknown {
  if (--budget.nodes < 0) throw new Error('the document expands to too many values through its aliases; write it out, or use fewer nested aliases');
  if (Array.isArray(value)) return value.map((v) => copyTree(v, budget));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = copyTree(v, budget);
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
