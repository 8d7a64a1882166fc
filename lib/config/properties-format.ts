/**
 * java.util.Properties text format. Kafka reads server.properties with
 * Properties.load(InputStream), i.e. ISO-8859-1 with backslash escapes, so
 * anything outside printable ASCII is written as \uXXXX.
 */
/** Text that needs no escaping, the common case: printable ASCII, no leading space, no separators in keys. */
const SAFE_VALUE = /^(?:[\x21-\x5b\x5d-\x7e][\x20-\x5b\x5d-\x7e]*)?$/;
const SAFE_KEY = /^[\x22-\x7e]*$/;
const KEY_SPECIALS = /[\\=:#!]/;

function escape(text: string, isKey: boolean): string {
  if (isKey ? SAFE_KEY.test(text) && !KEY_SPECIALS.test(text) : SAFE_VALUE.test(text)) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    const code = text.charCodeAt(i);
    if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\f') out += '\\f';
    else if ((isKey || i === 0) && ch === ' ') out += '\\ ';
    else if (isKey && (ch === '=' || ch === ':' || ch === '#' || ch === '!')) out += `\\${ch}`;
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return out;
}

/** Renders key=value lines sorted by key, after optional comment lines. */
export function formatProperties(entries: Readonly<Record<string, string>>, comments: readonly string[] = []): string {
  const lines = comments.map((c) => `# ${c}`);
  for (const key of Object.keys(entries).sort()) lines.push(`${escape(key, true)}=${escape(entries[key]!, false)}`);
  return `${lines.join('\n')}\n`;
}

/** Parses the subset of the format that formatProperties writes (and common hand-written files). */
export function parseProperties(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const logical = text.replace(/\\\r?\n[ \t\f]*/g, '');
  for (const raw of logical.split(/\r?\n/)) {
    const line = raw.replace(/^[ \t\f]+/, '');
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    let i = 0;
    let key = '';
    for (; i < line.length; i++) {
      const ch = line[i]!;
      if (ch === '\\' && i + 1 < line.length) { key += line[i] + line[++i]!; continue; }
      if (ch === '=' || ch === ':' || ch === ' ' || ch === '\t') break;
      key += ch;
    }
    let rest = line.slice(i).replace(/^[ \t\f]*/, '');
    if (rest.startsWith('=') || rest.startsWith(':')) rest = rest.slice(1).replace(/^[ \t\f]*/, '');
    out[unescape(key)] = unescape(rest);
  }
  return out;
}

function unescape(text: string): string {
  return text.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_m, seq: string) => {
    if (seq.length === 5) return String.fromCharCode(parseInt(seq.slice(1), 16));
    return ({ n: '\n', r: '\r', t: '\t', f: '\f' } as Record<string, string>)[seq] ?? seq;
  });
}
