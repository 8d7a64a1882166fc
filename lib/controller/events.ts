/**
 * Recording Events on the objects the controller acts on. Events are for people: failing to
 * record one is logged and never stops the controller's work.
 */
import type { KubeClient } from './adapters/kube/client.js';
import type { Logger } from './observability/log.js';

export const COMPONENT = 'kafka-cdk8s-controller';

export type EventTarget = { apiVersion: string; kind: string; name: string; uid?: string };
export type RecordEvent = (involved: EventTarget, type: 'Normal' | 'Warning', reason: string, message: string) => Promise<void>;

export function eventRecorder(kube: KubeClient, log: Logger): RecordEvent {
  return async (involved, type, reason, message) => {
    try {
      await kube.createEvent({ involved, type, reason, message, component: COMPONENT });
    } catch (err) {
      log.warn('Could not record an Event', { reason, err });
    }
  };
}
