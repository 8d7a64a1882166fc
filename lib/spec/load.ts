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

export function parseSpecYaml(text: string, source: string): SpecSource[] {
  const docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [docs];
  const out: SpecSource[] = [];
  list.forEach((doc, i) => {
    const where = list.length > 1 ? `${source} (document ${i + 1})` : source;
    if (doc.errors.length > 0) {
      throw new SpecValidationError(doc.errors.map((e) => ({ path: '(yaml)', message: e.message.split('\n')[0]! })), where);
    }
    const spec = doc.toJS({ maxAliasCount: 100 });
    if (spec === null || spec === undefined) return; // an empty document, e.g. a trailing '---'
    out.push({ spec, source: where });
  });
  if (out.length === 0) throw new SpecValidationError([{ path: '(spec)', message: 'the file holds no cluster spec' }], source);
  return out;
}

export function loadSpecFile(file: string): SpecSource[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read spec file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseSpecYaml(text, file);
}
