// The test-port allocator (test/support/ports.ts): distinct ports, outside the kernel's
// ephemeral range, and never one that something already listens on. Real sockets, so it
// lives with the integration tests, though it needs no server.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allocatePorts, canBind, ephemeralPortRange, PortAllocator, PORT_RANGE_FLOOR, testPortRange } from '../support/ports.js';
import { ONCE } from '../support/once.js';

async function listen(port: number): Promise<Server> {
  return await new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(port, '127.0.0.1', () => res(srv));
  });
}

async function close(srv: Server): Promise<void> {
  await new Promise((r) => srv.close(r));
}

describe('test port allocator', ONCE, () => {
  it('hands out distinct ports below the ephemeral range, across calls and concurrent callers', async () => {
    const ephemeral = ephemeralPortRange();
    const batches = await Promise.all([allocatePorts(20), allocatePorts(20), allocatePorts(1), allocatePorts(5)]);
    const ports = batches.flat();
    assert.equal(new Set(ports).size, ports.length, `duplicates in ${ports.join(',')}`);
    for (const p of ports) {
      assert.ok(p >= PORT_RANGE_FLOOR, `${p} is below ${PORT_RANGE_FLOOR}`);
      assert.ok(p < ephemeral.low || p > ephemeral.high, `${p} is inside the ephemeral range ${ephemeral.low}..${ephemeral.high}`);
    }
    const again = await allocatePorts(10);
    assert.deepEqual(again.filter((p) => ports.includes(p)), [], 'a port is never handed out twice');
  });

  it('skips a port that something listens on', async () => {
    const [busy] = await allocatePorts(1);
    const srv = await listen(busy!);
    try {
      assert.equal(await canBind(busy!), false);
      const allocator = new PortAllocator({ range: { low: busy!, high: busy! + 1 }, start: busy! });
      assert.deepEqual(await allocator.allocate(1), [busy! + 1]);
      await assert.rejects(allocator.allocate(1), /no free port left/);
    } finally {
      await close(srv);
    }
  });

  it('wraps around the range from its random start', async () => {
    const low = PORT_RANGE_FLOOR + 5_000;
    const allocator = new PortAllocator({ range: { low, high: low + 9 }, start: low + 8 });
    const ports = await allocator.allocate(4);
    // a port of this range may be taken on a busy machine; the order is what matters
    assert.deepEqual(ports.slice(0, 2), [low + 8, low + 9]);
    assert.ok(ports.slice(2).every((p) => p >= low && p < low + 8), ports.join(','));
  });

  it('reads the ephemeral range from the kernel and keeps clear of it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ports-test-'));
    try {
      const file = join(dir, 'ip_local_port_range');
      writeFileSync(file, '32768\t60999\n');
      assert.deepEqual(ephemeralPortRange(file), { low: 32768, high: 60999 });
      assert.deepEqual(testPortRange({ low: 32768, high: 60999 }), { low: PORT_RANGE_FLOOR, high: 32767 });
      // no room below: use the ports above
      assert.deepEqual(testPortRange({ low: 10000, high: 50000 }), { low: 50001, high: 65535 });
      assert.throws(() => testPortRange({ low: 1024, high: 65000 }), /no room/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
