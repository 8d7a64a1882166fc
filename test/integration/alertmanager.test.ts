// The controller's Alertmanager adapter (lib/controller/adapters/alertmanager.ts) against a
// real Alertmanager (Debian's, from test/bed/install-alertmanager.sh): which alerts hold
// rolling restarts, and that every way of not getting an answer is an
// AlertmanagerUnavailableError (which the controller treats as a hold).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  AlertmanagerUnavailableError,
  DEFAULT_HOLD_LABEL,
  createAlertmanagerClient,
  type HoldingAlert,
} from '../../lib/controller/adapters/alertmanager.js';
import { startAlertmanager, type Alertmanager, type StartAlertmanagerOptions } from '../support/alertmanager.js';
import { allocatePort } from '../support/ports.js';

const HOLD = { [DEFAULT_HOLD_LABEL]: 'true' };

/** A fresh Alertmanager per test (starts in well under a second): no alert leaks between tests. */
async function withAlertmanager(fn: (am: Alertmanager) => Promise<void>, opts?: StartAlertmanagerOptions): Promise<void> {
  const am = await startAlertmanager(opts);
  try {
    await fn(am);
  } finally {
    await am.close();
  }
}

/** Every alert Alertmanager lists, unfiltered: proves that an alert a test expects to be left out was received. */
async function allAlerts(am: Alertmanager): Promise<Array<{ labels: Record<string, string>; status: { state: string } }>> {
  const res = await fetch(`${am.url}/api/v2/alerts`);
  assert.equal(res.status, 200);
  return (await res.json()) as Array<{ labels: Record<string, string>; status: { state: string } }>;
}

const names = (alerts: HoldingAlert[]): string[] => alerts.map((a) => a.name);

/** Asserts that `promise` rejects with an AlertmanagerUnavailableError whose message matches every pattern. */
async function assertUnavailable(promise: Promise<unknown>, ...patterns: RegExp[]): Promise<AlertmanagerUnavailableError> {
  let caught: unknown;
  await assert.rejects(promise, (err) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof AlertmanagerUnavailableError, `expected AlertmanagerUnavailableError, got ${String(caught)}`);
  assert.equal(caught.name, 'AlertmanagerUnavailableError');
  for (const p of patterns) assert.match(caught.message, p);
  return caught;
}

// --- a stand-in HTTP server for the ways a wrong server answers ---------------------------

const servers = new Set<Server>();
after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

async function fakeServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; close: () => Promise<void> }> {
  const port = await allocatePort();
  const server = createServer(handler);
  servers.add(server);
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(port, '127.0.0.1', () => res());
  });
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      servers.delete(server);
      server.closeAllConnections();
      await new Promise<void>((res) => server.close(() => res()));
    },
  };
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

describe('Alertmanager adapter against a real Alertmanager', { timeout: 120_000 }, () => {
  it('returns an active alert whose hold label is "true", with its name, labels, start and fingerprint', async () => {
    await withAlertmanager(async (am) => {
      const client = createAlertmanagerClient({ url: am.url, holdLabel: DEFAULT_HOLD_LABEL });
      assert.deepEqual(await client.holdingAlerts(), []);
      const before = Date.now();
      await am.fire({ alertname: 'KafkaDiskAlmostFull', severity: 'critical', ...HOLD }, { summary: 'disk at 91%' });
      const after = Date.now();
      const held = await client.holdingAlerts();
      assert.equal(held.length, 1);
      const [a] = held;
      assert.equal(a!.name, 'KafkaDiskAlmostFull');
      assert.deepEqual(a!.labels, { alertname: 'KafkaDiskAlmostFull', severity: 'critical', [DEFAULT_HOLD_LABEL]: 'true' });
      assert.match(a!.fingerprint, /^[0-9a-f]{16}$/);
      const startsAt = Date.parse(a!.startsAt);
      assert.ok(startsAt >= before - 1_000 && startsAt <= after + 1_000, `startsAt ${a!.startsAt} is not the firing time`);
    });
  });

  it('leaves out alerts without the hold label, with another value, or with another label', async () => {
    await withAlertmanager(async (am) => {
      await am.fire({ alertname: 'Holds', ...HOLD });
      await am.fire({ alertname: 'NoLabel' });
      await am.fire({ alertname: 'False', [DEFAULT_HOLD_LABEL]: 'false' });
      await am.fire({ alertname: 'Capitalised', [DEFAULT_HOLD_LABEL]: 'True' });
      await am.fire({ alertname: 'Yes', [DEFAULT_HOLD_LABEL]: 'yes' });
      await am.fire({ alertname: 'OtherLabel', [`${DEFAULT_HOLD_LABEL}_x`]: 'true' });
      // All six are there and active: leaving five out is the filter's doing.
      const all = await allAlerts(am);
      assert.deepEqual(all.map((a) => a.labels.alertname).sort(), ['Capitalised', 'False', 'Holds', 'NoLabel', 'OtherLabel', 'Yes']);
      assert.ok(all.every((a) => a.status.state === 'active'));
      assert.deepEqual(names(await createAlertmanagerClient({ url: am.url, holdLabel: DEFAULT_HOLD_LABEL }).holdingAlerts()), ['Holds']);
      // Another hold label name holds with its own alerts only.
      assert.deepEqual(names(await createAlertmanagerClient({ url: am.url, holdLabel: `${DEFAULT_HOLD_LABEL}_x` }).holdingAlerts()), ['OtherLabel']);
    });
  });

  it('sorts by alert name, then fingerprint, the same on every call', async () => {
    await withAlertmanager(async (am) => {
      await am.fire({ alertname: 'Zeta', ...HOLD });
      await am.fire({ alertname: 'Alpha', broker: '2', ...HOLD });
      await am.fire({ alertname: 'Mid', ...HOLD });
      await am.fire({ alertname: 'Alpha', broker: '1', ...HOLD });
      const client = createAlertmanagerClient({ url: am.url, holdLabel: DEFAULT_HOLD_LABEL });
      const held = await client.holdingAlerts();
      assert.deepEqual(names(held), ['Alpha', 'Alpha', 'Mid', 'Zeta']);
      assert.ok(held[0]!.fingerprint < held[1]!.fingerprint, `fingerprints out of order: ${held[0]!.fingerprint}, ${held[1]!.fingerprint}`);
      assert.notEqual(held[0]!.labels.broker, held[1]!.labels.broker);
      assert.deepEqual(await client.holdingAlerts(), held);
    });
  });

  it('leaves out a silenced alert', async () => {
    await withAlertmanager(async (am) => {
      const client = createAlertmanagerClient({ url: am.url, holdLabel: DEFAULT_HOLD_LABEL });
      await am.fire({ alertname: 'Silenced', ...HOLD });
      await am.fire({ alertname: 'Loud', ...HOLD });
      assert.deepEqual(names(await client.holdingAlerts()), ['Loud', 'Silenced']);
      const id = await am.silence({ alertname: 'Silenced' }, 10);
      assert.deepEqual(names(await client.holdingAlerts()), ['Loud']);
      // Still active in Alertmanager, only suppressed by our silence.
      const silenced = (await allAlerts(am)).find((a) => a.labels.alertname === 'Silenced');
      assert.equal(silenced?.status.state, 'suppressed');
      assert.ok(id.length > 0);
    });
  });

  it('leaves out an inhibited alert', async () => {
    const inhibitRules = [{ source_matchers: ['alertname="ClusterDown"'], target_matchers: ['alertname="BrokerSlow"'] }];
    await withAlertmanager(
      async (am) => {
        const client = createAlertmanagerClient({ url: am.url, holdLabel: DEFAULT_HOLD_LABEL });
        await am.fire({ alertname: 'BrokerSlow', ...HOLD });
        assert.deepEqual(names(await client.holdingAlerts()), ['BrokerSlow']);
        await am.fire({ alertname: 'ClusterDown' }); // inhibits BrokerSlow, holds nothing itself
        assert.deepEqual(names(await client.holdingAlerts()), []);
      },
      { inhibitRules },
    );
  });

  it('drops an alert once it is resolved', async () => {
    await withAlertmanager(async (am) => {
      const client = createAlertmanagerClient({ url: am.url, holdLabel: DEFAULT_HOLD_LABEL });
      const labels = { alertname: 'Resolved', broker: '3', ...HOLD };
      await am.fire(labels);
      await am.fire({ alertname: 'StillFiring', ...HOLD });
      assert.deepEqual(names(await client.holdingAlerts()), ['Resolved', 'StillFiring']);
      await am.resolve(labels);
      assert.deepEqual(names(await client.holdingAlerts()), ['StillFiring']);
    });
  });

  it('keeps the path prefix of the URL (Alertmanager behind --web.route-prefix)', async () => {
    await withAlertmanager(
      async (am) => {
        assert.match(am.url, /\/alertmanager$/);
        await am.fire({ alertname: 'Prefixed', ...HOLD });
        for (const url of [am.url, `${am.url}/`]) {
          assert.deepEqual(names(await createAlertmanagerClient({ url, holdLabel: DEFAULT_HOLD_LABEL }).holdingAlerts()), ['Prefixed'], url);
        }
        // Without the prefix the same server is not Alertmanager's API: unavailable, not "no alerts".
        const root = am.url.replace(/\/alertmanager$/, '');
        await assertUnavailable(createAlertmanagerClient({ url: root, holdLabel: DEFAULT_HOLD_LABEL }).holdingAlerts(), /HTTP 404/, new RegExp(escape(root)));
      },
      { routePrefix: '/alertmanager' },
    );
  });
});

describe('Alertmanager adapter when it cannot ask', { timeout: 60_000 }, () => {
  it('unreachable URL: AlertmanagerUnavailableError naming the URL and the connection error', async () => {
    const port = await allocatePort(); // free: nothing listens there
    const url = `http://127.0.0.1:${port}`;
    await assertUnavailable(
      createAlertmanagerClient({ url, holdLabel: DEFAULT_HOLD_LABEL }).holdingAlerts(),
      new RegExp(`^Alertmanager at ${escape(url)}/: request failed: `),
      /ECONNREFUSED/,
    );
  });

  it('HTTP 500: names the status and quotes the body', async () => {
    const srv = await fakeServer((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error: storage is broken\n');
    });
    try {
      await assertUnavailable(
        createAlertmanagerClient({ url: srv.url, holdLabel: DEFAULT_HOLD_LABEL }).holdingAlerts(),
        new RegExp(escape(srv.url)),
        /HTTP 500 Internal Server Error/,
        /storage is broken/,
      );
    } finally {
      await srv.close();
    }
  });

  it('an answer that is not JSON', async () => {
    const srv = await fakeServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('<html>login page</html>');
    });
    try {
      await assertUnavailable(createAlertmanagerClient({ url: srv.url, holdLabel: DEFAULT_HOLD_LABEL }).holdingAlerts(), new RegExp(escape(srv.url)), /not JSON/, /login page/);
    } finally {
      await srv.close();
    }
  });

  it('JSON that is not a list of Alertmanager alerts', async () => {
    const bodies: Array<[unknown, RegExp]> = [
      [{ status: 'success', data: [] }, /\(body\): /], // e.g. Prometheus' API, not Alertmanager's
      [[{ labels: { alertname: 5 }, fingerprint: 'abc', startsAt: '2026-01-01T00:00:00Z', status: { state: 'active' } }], /0\.labels\.alertname/],
      [[{ labels: {}, startsAt: '2026-01-01T00:00:00Z', status: { state: 'active' } }], /0\.fingerprint/],
      [null, /\(body\)/],
    ];
    let next: unknown;
    const srv = await fakeServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(next));
    });
    try {
      for (const [body, where] of bodies) {
        next = body;
        await assertUnavailable(createAlertmanagerClient({ url: srv.url, holdLabel: DEFAULT_HOLD_LABEL }).holdingAlerts(), /not a list of Alertmanager alerts/, where);
      }
    } finally {
      await srv.close();
    }
  });

  it('no answer within timeoutMs', async () => {
    const srv = await fakeServer(() => {
      /* never answers */
    });
    try {
      const t0 = Date.now();
      await assertUnavailable(createAlertmanagerClient({ url: srv.url, holdLabel: DEFAULT_HOLD_LABEL, timeoutMs: 300 }).holdingAlerts(), new RegExp(escape(srv.url)), /no answer within 300 ms/);
      const took = Date.now() - t0;
      assert.ok(took >= 250 && took < 5_000, `gave up after ${took} ms`);
    } finally {
      await srv.close();
    }
  });
});

describe('Alertmanager adapter: request and options', { timeout: 60_000 }, () => {
  it('asks GET <prefix>/api/v2/alerts for active, unsilenced, uninhibited, processed alerts with the hold label', async () => {
    const seen: IncomingMessage[] = [];
    const srv = await fakeServer((req, res) => {
      seen.push(req);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('[]');
    });
    try {
      assert.deepEqual(await createAlertmanagerClient({ url: `${srv.url}/monitoring/am/`, holdLabel: 'hold_it' }).holdingAlerts(), []);
      assert.equal(seen.length, 1);
      const req = seen[0]!;
      assert.equal(req.method, 'GET');
      const u = new URL(req.url!, srv.url);
      assert.equal(u.pathname, '/monitoring/am/api/v2/alerts');
      assert.deepEqual([...u.searchParams.entries()].sort(), [
        ['active', 'true'],
        ['filter', 'hold_it="true"'],
        ['inhibited', 'false'],
        ['silenced', 'false'],
        ['unprocessed', 'false'],
      ]);
      assert.equal(req.headers.authorization, undefined);
    } finally {
      await srv.close();
    }
  });

  it('keeps only active alerts whose hold label is "true", even from a server that ignores the filters', async () => {
    const alert = (name: string, hold: string | undefined, state: string, fingerprint: string): unknown => ({
      labels: { alertname: name, ...(hold === undefined ? {} : { [DEFAULT_HOLD_LABEL]: hold }) },
      fingerprint,
      startsAt: '2026-01-01T00:00:00.000Z',
      endsAt: '2026-01-01T00:05:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      receivers: [{ name: 'x' }],
      annotations: {},
      status: { state, silencedBy: [], inhibitedBy: [] },
    });
    const srv = await fakeServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify([alert('Suppressed', 'true', 'suppressed', 'b1'), alert('No', 'false', 'active', 'b2'), alert('Unset', undefined, 'active', 'b3'), alert('Yes', 'true', 'active', 'b4')]));
    });
    try {
      assert.deepEqual(await createAlertmanagerClient({ url: srv.url, holdLabel: DEFAULT_HOLD_LABEL }).holdingAlerts(), [
        { name: 'Yes', labels: { alertname: 'Yes', [DEFAULT_HOLD_LABEL]: 'true' }, startsAt: '2026-01-01T00:00:00.000Z', fingerprint: 'b4' },
      ]);
    } finally {
      await srv.close();
    }
  });

  it('sends credentials from the URL as basic auth and never shows the password', async () => {
    const auth: Array<string | undefined> = [];
    const srv = await fakeServer((req, res) => {
      auth.push(req.headers.authorization);
      res.writeHead(503);
      res.end('try later');
    });
    try {
      const url = srv.url.replace('http://', 'http://ops:s3cr%40t@');
      const err = await assertUnavailable(createAlertmanagerClient({ url, holdLabel: DEFAULT_HOLD_LABEL }).holdingAlerts(), /HTTP 503/);
      assert.deepEqual(auth, [`Basic ${Buffer.from('ops:s3cr@t').toString('base64')}`]);
      assert.doesNotMatch(err.message, /s3cr/);
      assert.match(err.message, new RegExp(escape(srv.url)));
    } finally {
      await srv.close();
    }
  });

  it('rejects a bad URL, label name or timeout when created (a configuration error, not "unavailable")', () => {
    const cases: Array<[Parameters<typeof createAlertmanagerClient>[0], RegExp]> = [
      [{ url: 'alertmanager:9093', holdLabel: DEFAULT_HOLD_LABEL }, /must be http or https/],
      [{ url: 'not a url', holdLabel: DEFAULT_HOLD_LABEL }, /"not a url" is not a valid URL/],
      [{ url: 'ftp://am:9093', holdLabel: DEFAULT_HOLD_LABEL }, /must be http or https \(got ftp\)/],
      [{ url: 'http://am:9093/?x=1', holdLabel: DEFAULT_HOLD_LABEL }, /must not have a query or fragment/],
      [{ url: 'http://am:9093', holdLabel: 'hold-roll' }, /holdLabel "hold-roll" is not a Prometheus label name/],
      [{ url: 'http://am:9093', holdLabel: '' }, /holdLabel "" is not a Prometheus label name/],
      [{ url: 'http://am:9093', holdLabel: DEFAULT_HOLD_LABEL, timeoutMs: 0 }, /timeoutMs must be a positive number/],
    ];
    for (const [opts, message] of cases) {
      assert.throws(
        () => createAlertmanagerClient(opts),
        (err: unknown) => err instanceof Error && !(err instanceof AlertmanagerUnavailableError) && message.test(err.message),
        `${JSON.stringify(opts)} should throw ${message}`,
      );
    }
  });
});
