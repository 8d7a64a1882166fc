/**
 * The Alertmanager adapter: which active alerts hold rolling restarts.
 *
 * An operator holds the controller's rolling restarts by firing an alert that carries the
 * hold label with the value "true" (default label `kafka_cdk8s_hold_roll`). The
 * controller asks before each restart; an alert that is silenced, inhibited, not yet
 * processed or resolved does not hold. When Alertmanager cannot be asked (network error,
 * timeout, non-2xx, a body that is not Alertmanager's) `holdingAlerts()` throws
 * AlertmanagerUnavailableError, and the controller treats that as a hold: safe.
 *
 * Speaks Alertmanager's API v2 (`GET /api/v2/alerts`) with Node's global fetch.
 */
/** The default name of the label that holds rolling restarts (the spec's `rolling.alertmanager.holdLabel`). */
export { DEFAULT_HOLD_LABEL } from '../../render/metadata.js';
import { compareStrings as compare } from '../../render/canonical.js';
/** The label value that holds; any other value does not. */
export const HOLD_LABEL_VALUE = 'true';
/** Default timeout of one question to Alertmanager, in ms (the whole answer included). */
export const DEFAULT_ALERTMANAGER_TIMEOUT_MS = 5_000;

export interface HoldingAlert {
  /** The `alertname` label ("" when the alert has none). */
  name: string;
  labels: Record<string, string>;
  /** RFC 3339 time the alert started, as Alertmanager reports it. */
  startsAt: string;
  /** Alertmanager's fingerprint of the label set (unique per alert). */
  fingerprint: string;
}

export interface AlertSource {
  /** Active, unsilenced, uninhibited alerts whose hold label is "true", sorted by name, then fingerprint. */
  holdingAlerts(): Promise<HoldingAlert[]>;
}

/** Alertmanager could not be asked, or did not answer like Alertmanager. The controller holds. */
export class AlertmanagerUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AlertmanagerUnavailableError';
  }
}

export interface AlertmanagerClientOptions {
  /** Base URL of Alertmanager, e.g. `http://alertmanager:9093` or `https://host/alertmanager` (a path prefix is kept). */
  readonly url: string;
  /** Name of the label that holds restarts. A Prometheus label name. */
  readonly holdLabel: string;
  /** @default 5000 (DEFAULT_ALERTMANAGER_TIMEOUT_MS) */
  readonly timeoutMs?: number;
}

/** Prometheus label names (Alertmanager's matchers accept these unquoted). */
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** What we read of one gettableAlert of API v2; other fields are ignored. */
interface GettableAlert {
  labels: Record<string, string>;
  fingerprint: string;
  startsAt: string;
  status: { state: string };
}

/**
 * Checks the answer's shape by hand: four fields, and the controller's memory budget
 * (100 MB) has no room for a schema library that only this check would load.
 * Returns the problems found (at most three), or the alerts.
 */
function readAlerts(body: unknown): { alerts: GettableAlert[] } | { problems: string[] } {
  if (!Array.isArray(body)) return { problems: ['(body): expected an array'] };
  const problems: string[] = [];
  const str = (v: unknown): boolean => typeof v === 'string' && v.length > 0;
  body.forEach((a: any, i) => {
    if (a === null || typeof a !== 'object') return problems.push(`${i}: expected an object`);
    if (a.labels === null || typeof a.labels !== 'object' || Array.isArray(a.labels)) problems.push(`${i}.labels: expected a map of strings`);
    else for (const [k, v] of Object.entries(a.labels)) if (typeof v !== 'string') problems.push(`${i}.labels.${k}: expected a string`);
    if (!str(a.fingerprint)) problems.push(`${i}.fingerprint: expected a non-empty string`);
    if (!str(a.startsAt)) problems.push(`${i}.startsAt: expected a non-empty string`);
    if (a.status === null || typeof a.status !== 'object' || typeof a.status.state !== 'string') problems.push(`${i}.status.state: expected a string`);
    return undefined;
  });
  return problems.length ? { problems: problems.slice(0, 3) } : { alerts: body as GettableAlert[] };
}

/** Longest piece of an unexpected body quoted in an error. */
const BODY_EXCERPT = 200;

/**
 * An AlertSource backed by Alertmanager's API v2. Checks its options at once (a bad URL,
 * label name or timeout is a configuration error, thrown here, not an unavailable Alertmanager).
 * Credentials in the URL (`https://user:pass@host`) are sent as basic auth and never
 * appear in error messages.
 */
export function createAlertmanagerClient(opts: AlertmanagerClientOptions): AlertSource {
  let base: URL;
  try {
    base = new URL(opts.url);
  } catch {
    throw new Error(`Alertmanager url "${opts.url}" is not a valid URL (want e.g. http://alertmanager:9093)`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new Error(`Alertmanager url "${redact(base)}" must be http or https (got ${base.protocol.replace(/:$/, '')})`);
  }
  if (base.search || base.hash) {
    throw new Error(`Alertmanager url "${redact(base)}" must not have a query or fragment`);
  }
  if (!LABEL_NAME.test(opts.holdLabel)) {
    throw new Error(`holdLabel "${opts.holdLabel}" is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)`);
  }
  const timeoutMs = opts.timeoutMs ?? DEFAULT_ALERTMANAGER_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new Error(`timeoutMs must be a positive number of milliseconds (got ${timeoutMs})`);

  const headers: Record<string, string> = { accept: 'application/json' };
  if (base.username || base.password) {
    const user = decodeURIComponent(base.username);
    const password = decodeURIComponent(base.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    base.username = '';
    base.password = '';
  }

  const endpoint = new URL(base.href);
  endpoint.pathname = `${base.pathname.replace(/\/+$/, '')}/api/v2/alerts`;
  endpoint.search = new URLSearchParams({
    active: 'true',
    silenced: 'false',
    inhibited: 'false',
    unprocessed: 'false',
    filter: `${opts.holdLabel}="${HOLD_LABEL_VALUE}"`,
  }).toString();
  const where = `Alertmanager at ${base.href}`;
  const unavailable = (what: string, cause?: unknown): AlertmanagerUnavailableError =>
    new AlertmanagerUnavailableError(`${where}: ${what} (GET ${endpoint.pathname})`, cause === undefined ? undefined : { cause });

  return {
    async holdingAlerts(): Promise<HoldingAlert[]> {
      const signal = AbortSignal.timeout(timeoutMs);
      let status: number;
      let statusText: string;
      let text: string;
      try {
        const res = await fetch(endpoint, { headers, signal });
        status = res.status;
        statusText = res.statusText;
        text = await res.text(); // the signal covers the body too
      } catch (err) {
        if (signal.aborted) throw unavailable(`no answer within ${timeoutMs} ms`, err);
        throw unavailable(`request failed: ${describeFetchError(err)}`, err);
      }
      if (status < 200 || status > 299) {
        throw unavailable(`HTTP ${status}${statusText ? ` ${statusText}` : ''}: ${excerpt(text)}`);
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (err) {
        throw unavailable(`the answer is not JSON: ${excerpt(text)}`, err);
      }
      const parsed = readAlerts(body);
      if ('problems' in parsed) throw unavailable(`the answer is not a list of Alertmanager alerts: ${parsed.problems.join('; ')}`);
      // The query already asks for exactly these; checked again so that a server that
      // ignores a filter cannot make a non-holding alert hold.
      return parsed.alerts
        .filter((a) => a.status.state === 'active' && a.labels[opts.holdLabel] === HOLD_LABEL_VALUE)
        .map((a) => ({ name: a.labels.alertname ?? '', labels: a.labels, startsAt: a.startsAt, fingerprint: a.fingerprint }))
        .sort((x, y) => compare(x.name, y.name) || compare(x.fingerprint, y.fingerprint));
    },
  };
}

/** The URL without its password (for messages). */
function redact(url: URL): string {
  if (!url.password) return url.href;
  const copy = new URL(url.href);
  copy.password = '***';
  return copy.href;
}

/** undici's "fetch failed" says nothing; the reason (ECONNREFUSED, a DNS error, ...) is in its cause. */
function describeFetchError(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    const msg = typeof code === 'string' && !e.message.includes(code) ? `${e.message} (${code})` : e.message;
    if (msg && !parts.includes(msg)) parts.push(msg);
  }
  return parts.length ? parts.join(': ') : String(err);
}

function excerpt(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  if (!oneLine) return '(empty body)';
  return oneLine.length > BODY_EXCERPT ? `${JSON.stringify(oneLine.slice(0, BODY_EXCERPT))}...` : JSON.stringify(oneLine);
}
