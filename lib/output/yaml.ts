/**
 * Block-style YAML for Kubernetes manifests (JSON data: maps, lists, strings,
 * numbers, booleans, null). Written here because the general-purpose emitters
 * (`yaml`, `js-yaml`) take 0.4-0.8 s for 1000 brokers, the whole budget of the
 * CLI (see bench/synth.ts). Correctness is pinned by round-trip tests that
 * parse every output with the `yaml` library.
 *
 * Strings are plain only when no YAML 1.1 or 1.2 parser (kubectl uses YAML 1.1)
 * could read them as anything else; otherwise double-quoted (JSON escapes are
 * valid YAML). Multi-line printable text becomes a literal block (`|`) so a
 * server.properties diff reads line by line.
 */

/** Scalars YAML 1.1 (yes/no/on/off/y/n) or 1.2 would read as booleans or null. */
const SPECIAL = /^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL|~)$/;
/** Starts with a letter (never a number, indicator or quote), then safe characters only. */
const PLAIN = /^[A-Za-z][A-Za-z0-9_./:@=,+-]*(?: [A-Za-z0-9_./:@=,+-]+)*$/;
const PRINTABLE_LINES = /^[\x20-\x7e\n]*$/;
/** Characters JSON leaves raw that YAML treats as line breaks or non-printable. */
const UNSAFE_IN_QUOTES = /[\u007f-\u009f\u2028\u2029\ufeff]/g;

/** Memo of isPlain: keys and label values repeat thousands of times in a large cluster. */
const plainCache = new Map<string, boolean>();
const PLAIN_CACHE_LIMIT = 50_000;

function isPlain(text: string): boolean {
  let plain = plainCache.get(text);
  if (plain === undefined) {
    plain = PLAIN.test(text) && !SPECIAL.test(text) && !/:(?: |$)/.test(text);
    if (plainCache.size < PLAIN_CACHE_LIMIT && text.length < 200) plainCache.set(text, plain);
  }
  return plain;
}

function quoted(text: string): string {
  return JSON.stringify(text).replace(UNSAFE_IN_QUOTES, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A literal block for multi-line printable text, or undefined if the text can't be one. */
function literalBlock(text: string, indent: string): string | undefined {
  // Leading blanks or newlines, and several trailing newlines, need indicators we don't write.
  if (!text.includes('\n') || !PRINTABLE_LINES.test(text) || /^[ \n]/.test(text) || text.endsWith('\n\n')) return undefined;
  const keepNewline = text.endsWith('\n');
  const body = keepNewline ? text.slice(0, -1) : text;
  return `|${keepNewline ? '' : '-'}\n${body.split('\n').map((line) => (line ? indent + line : '')).join('\n')}`;
}

function scalar(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot write ${value} to YAML`);
    return String(value);
  }
  const text = String(value);
  return isPlain(text) ? text : quoted(text);
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function emit(value: unknown, indent: string, out: string[]): void {
  if (Array.isArray(value)) {
    for (const item of value) emitEntry(`${indent}-`, item, `${indent}  `, out, true);
  } else if (isMap(value)) {
    for (const key of Object.keys(value)) {
      const child = value[key];
      if (child === undefined) continue;
      emitEntry(`${indent}${isPlain(key) ? key : quoted(key)}:`, child, `${indent}  `, out, false);
    }
  }
}

/** One "key: value" or "- value" entry; nested maps and lists go on the following lines. */
function emitEntry(head: string, value: unknown, childIndent: string, out: string[], inList: boolean): void {
  if (Array.isArray(value) || isMap(value)) {
    const empty = Array.isArray(value) ? value.length === 0 : Object.keys(value).every((k) => value[k] === undefined);
    if (empty) { out.push(`${head} ${Array.isArray(value) ? '[]' : '{}'}`); return; }
    if (inList) {
      // "- - a" / "- key: v": the nested collection starts on the line of its parent dash.
      const nested: string[] = [];
      emit(value, childIndent, nested);
      out.push(`${head} ${nested[0]!.slice(childIndent.length)}`, ...nested.slice(1));
    } else {
      out.push(head);
      emit(value, childIndent, out);
    }
  } else if (typeof value === 'string') {
    out.push(`${head} ${literalBlock(value, childIndent) ?? scalar(value)}`);
  } else {
    out.push(`${head} ${scalar(value)}`);
  }
}

/** One YAML document per object, separated by '---'. */
export function toYamlDocuments(objects: readonly unknown[]): string {
  return objects.map((object) => {
    const lines: string[] = [];
    emit(object, '', lines);
    return `${lines.join('\n')}\n`;
  }).join('---\n');
}
