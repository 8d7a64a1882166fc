/**
 * Structured logs: one JSON object per line, `time` (ISO), `level`, `msg`, then fields, so
 * `kubectl logs | jq` works and humans still read the message first. Messages follow the
 * kubebuilder practice: capitalised, past tense, the kind named, details as fields
 * (`log.info('Restarted broker', { node: 3, reason })`).
 *
 * Our own ~50 lines rather than pino: pino writes level before time and msg last, and repeats
 * a key given both as child binding and as field; neither is configurable without hacks.
 * Writes are synchronous when the stream is (process.stdout on a pipe or file, as in a Pod),
 * so a line logged just before a crash is not lost.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger adding `fields` to every line (the call's own fields win on a clash). */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  /** Lines below this level are dropped. @default 'info' */
  level?: LogLevel;
  /** @default process.stdout */
  stream?: NodeJS.WritableStream;
  /** Fields on every line. */
  base?: LogFields;
}

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

const RESERVED = new Set(['time', 'level', 'msg']);

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? 'info';
  // The level often comes straight from a CLI flag, untyped.
  if (!LOG_LEVELS.includes(level)) {
    throw new Error(`log level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(level)}`);
  }
  return make(LOG_LEVELS.indexOf(level), opts.stream ?? process.stdout, opts.base ?? {});
}

function make(min: number, stream: NodeJS.WritableStream, bound: LogFields): Logger {
  const at = (level: LogLevel) => {
    if (LOG_LEVELS.indexOf(level) < min) return () => {};
    return (msg: string, fields?: LogFields) => stream.write(`${render(level, msg, { ...bound, ...fields })}\n`);
  };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (fields) => make(min, stream, { ...bound, ...fields }),
  };
}

function render(level: LogLevel, msg: string, fields: LogFields): string {
  const line: LogFields = { time: new Date().toISOString(), level, msg };
  // A field may not overwrite the envelope; it is kept under another name instead of lost.
  for (const [k, v] of Object.entries(fields)) line[RESERVED.has(k) ? `fields.${k}` : k] = v;
  try {
    return JSON.stringify(line, replacer);
  } catch (err) {
    // Circular fields and the like: logging must never throw into the caller.
    return JSON.stringify({ time: line.time, level, msg, logError: `fields not serialisable: ${String(err)}` });
  }
}

function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    // JSON.stringify(error) is "{}"; keep what a reader needs, plus own props such as `code`.
    const { name, message, stack, cause } = value;
    return { ...value, type: name, message, stack, ...(cause !== undefined ? { cause } : {}) };
  }
  if (typeof value === 'bigint') return value.toString();
  return value;
}
