// startKafkaNodeListening against a real Kafka: a node whose port is taken at start
// (a lost port race) is started again once the port is free, and a port that stays
// taken fails with a message that says so.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomClusterId, renderProperties, startKafkaNodeListening } from '../support/kafka-process.js';
import { allocatePorts } from '../support/ports.js';
import { ONCE } from '../support/once.js';

let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'kafka-process-test-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A one-node combined cluster's server.properties in its own directory. */
function nodeConfig(name: string, port: number, controllerPort: number): string {
  const nodeDir = join(dir, name);
  const file = join(dir, `${name}.properties`);
  writeFileSync(file, renderProperties({
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@127.0.0.1:${controllerPort}`,
    'controller.listener.names': 'CONTROLLER',
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}`,
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': join(nodeDir, 'data'),
    'offsets.topic.replication.factor': 1,
    'log.cleaner.dedupe.buffer.size': 16 * 1024 * 1024,
  }));
  return file;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

async function hold(port: number): Promise<Server> {
  return await new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(port, '127.0.0.1', () => res(srv));
  });
}

describe('startKafkaNodeListening', { ...ONCE, timeout: 180_000 }, () => {
  it('starts again on the same port after losing it for a moment', async () => {
    const [port, controllerPort] = await allocatePorts(2);
    const logDir = join(dir, 'race', 'logs');
    const holder = await hold(port!);
    // Released once the first JVM has failed on it: the retry a second later finds it free.
    const release = setInterval(() => {
      if (/Address already in use/.test(readText(join(logDir, 'server.log')))) {
        clearInterval(release);
        holder.close();
      }
    }, 100);
    try {
      const node = await startKafkaNodeListening({
        propertiesFile: nodeConfig('race', port!, controllerPort!),
        logDir,
        clusterId: randomClusterId(),
        ports: [controllerPort!, port!],
        timeoutMs: 90_000,
      });
      try {
        assert.ok(node.running);
        assert.match(readText(join(logDir, 'server.log')), /Address already in use/, 'the first start lost the port');
        assert.doesNotMatch(node.output(), /Address already in use/, 'the second did not');
      } finally {
        await node.kill();
      }
    } finally {
      clearInterval(release);
      holder.close();
    }
  });

  it('names the busy port when it stays taken', async () => {
    const [port, controllerPort] = await allocatePorts(2);
    const holder = await hold(port!);
    try {
      await assert.rejects(
        startKafkaNodeListening({
          propertiesFile: nodeConfig('busy', port!, controllerPort!),
          logDir: join(dir, 'busy', 'logs'),
          clusterId: randomClusterId(),
          ports: [controllerPort!, port!],
          timeoutMs: 90_000,
          bindRetries: 1,
        }),
        new RegExp(`a port of ${controllerPort}, ${port} is in use`),
      );
    } finally {
      holder.close();
    }
  });
});
