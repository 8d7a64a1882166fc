/**
 * Everything the controller must remember lives in one ConfigMap per cluster
 * (`<cluster>-operator-state`), never only in memory: the restart in progress (written
 * before the Pod is deleted, cleared once the new Pod is back in sync) and the readable
 * status. Writes are conditional on the resourceVersion read, so a stale writer fails.
 */
import type { ConfigMapObject, KubeClient } from './adapters/kube/client.js';
import type { RollRecord } from './decide/roll-step.js';
import { LABEL_MANAGED_BY, MANAGED_BY } from '../render/metadata.js';

export const STATE_KEY_ROLL = 'roll';
export const STATE_KEY_STATUS = 'status';
/** Marks the state ConfigMap (it is not in Git, so it carries no GitOps tracking). */
export const LABEL_OPERATOR_STATE = 'kafka-cdk8s.io/operator-state';

export type Phase = 'Ready' | 'Reconfiguring' | 'Rolling' | 'Waiting' | 'Refused' | 'Degraded';

/** The cluster's readable status (`kubectl get cm <cluster>-operator-state -o jsonpath='{.data.status}'`). */
export interface ClusterStatus {
  readonly phase: Phase;
  /** The node being restarted, or the next one a wait is about. */
  readonly node?: string;
  /** What the controller waits for, in words. */
  readonly waitingFor?: string;
  readonly progress: { readonly upToDate: number; readonly total: number };
  /** Nodes that still need a restart, in roll order. */
  readonly pendingRestarts: readonly string[];
  /** The next voter change, or what it waits for (decide/quorum.ts). */
  readonly quorum?: string;
  /** Finalizing metadata.version after an upgrade, or what it waits for (decide/features.ts). */
  readonly features?: string;
  /** Dynamic overrides set outside the spec (reported, never removed). */
  readonly drift: readonly string[];
  /** The last error, if the phase is Degraded. */
  readonly error?: string;
}

export interface StoredState {
  readonly record?: RollRecord;
  readonly status?: ClusterStatus;
}

export class StateStore {
  private cm?: ConfigMapObject;

  constructor(private readonly kube: KubeClient, readonly name: string, private readonly cluster: string) {}

  /** Reads the state from the cluster (never trusts memory across reconciles). */
  async load(): Promise<StoredState> {
    this.cm = await this.kube.getConfigMap(this.name);
    const data = this.cm?.data ?? {};
    return {
      record: data[STATE_KEY_ROLL] ? (JSON.parse(data[STATE_KEY_ROLL]) as RollRecord) : undefined,
      status: data[STATE_KEY_STATUS] ? (JSON.parse(data[STATE_KEY_STATUS]) as ClusterStatus) : undefined,
    };
  }

  /** Writes the record (undefined clears it) and/or the status, conditional on what load() read. */
  async save(change: { record?: RollRecord | null; status?: ClusterStatus }): Promise<void> {
    const data: Record<string, string> = { ...(this.cm?.data ?? {}) };
    if (change.record === null) delete data[STATE_KEY_ROLL];
    else if (change.record) data[STATE_KEY_ROLL] = JSON.stringify(change.record);
    if (change.status) data[STATE_KEY_STATUS] = JSON.stringify(change.status, null, 2);
    if (this.cm) {
      this.cm = await this.kube.replaceConfigMap({ metadata: { ...this.cm.metadata }, data });
    } else {
      this.cm = await this.kube.createConfigMap({
        metadata: { name: this.name, labels: { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_OPERATOR_STATE]: this.cluster } },
        data,
      });
    }
  }

  /** The object events about the cluster are attached to. */
  get ref(): { kind: string; name: string; uid?: string; apiVersion: string } {
    return { apiVersion: 'v1', kind: 'ConfigMap', name: this.name, uid: this.cm?.metadata.uid };
  }
}
