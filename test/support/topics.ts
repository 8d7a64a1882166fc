/**
 * Topic creation for tests through kafkajs, waiting for the leaders ourselves: kafkajs's
 * `createTopics({ waitForLeaders })` gives up on UNKNOWN_TOPIC_OR_PARTITION while a new
 * topic is still on its way to the broker's metadata (it failed CI runs).
 */
import type { Admin, ITopicConfig } from 'kafkajs';
import { eventually } from './wait.js';

export async function createTopicsAndWait(admin: Admin, topics: ITopicConfig[], timeoutMs = 60_000): Promise<void> {
  await admin.createTopics({ topics, waitForLeaders: false });
  const names = topics.map((t) => t.topic);
  await eventually(`leaders for every partition of ${names.join(', ')}`, async () => {
    const md = await admin.fetchTopicMetadata({ topics: names }).catch(() => undefined);
    const ready = md !== undefined && names.every((name) => {
      const t = md.topics.find((x) => x.name === name);
      return t !== undefined && t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0);
    });
    return ready ? true : undefined;
  }, timeoutMs);
}
