/** Test helpers around synthesis: objects by kind/name, and specs to tweak. */
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { readFileSync } from 'node:fs';
import { synthCluster } from '../../lib/synth.js';

export const EXAMPLE_FILE = new URL('../../examples/cluster.yaml', import.meta.url).pathname;

export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> };
  readonly [key: string]: unknown;
}

/** A fresh copy of the bundled example spec. */
export function exampleSpec(): any {
  return parseYaml(readFileSync(EXAMPLE_FILE, 'utf8'));
}

export function synthYaml(spec: unknown): string {
  return synthCluster(spec).yaml;
}

export function synthObjects(spec: unknown): K8sObject[] {
  return parseAllDocuments(synthYaml(spec)).map((d) => d.toJS() as K8sObject);
}

export const key = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;

/** Objects by "Kind/name", with their YAML text, to compare two syntheses object by object. */
export function objectTexts(yaml: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const doc of parseAllDocuments(yaml)) {
    const o = doc.toJS() as K8sObject;
    out.set(key(o), doc.toString());
  }
  return out;
}

/** Keys of objects added, removed or changed between two syntheses. */
export function diffObjects(before: string, after: string): { added: string[]; removed: string[]; changed: string[] } {
  const a = objectTexts(before);
  const b = objectTexts(after);
  return {
    added: [...b.keys()].filter((k) => !a.has(k)).sort(),
    removed: [...a.keys()].filter((k) => !b.has(k)).sort(),
    changed: [...a.keys()].filter((k) => b.has(k) && a.get(k) !== b.get(k)).sort(),
  };
}
