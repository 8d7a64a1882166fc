/**
 * The Pod the controller creates for a node: its desired Pod as stored in the node's
 * ConfigMap, plus the GitOps tracking that the ConfigMap carries, so that Argo CD and Flux
 * still count the Pod as theirs (and Argo CD does not show it as an orphan or prune it).
 * Pure.
 */

/** Labels GitOps tools track their objects by: Argo CD's label tracking, Flux's inventory labels. */
export const TRACKING_LABELS: readonly string[] = ['app.kubernetes.io/instance', 'kustomize.toolkit.fluxcd.io/name', 'kustomize.toolkit.fluxcd.io/namespace'];
/** Argo CD's annotation tracking: `<app>:<group>/<kind>:<namespace>/<name>`. */
export const ARGOCD_TRACKING_ID = 'argocd.argoproj.io/tracking-id';

interface Meta {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [k: string]: unknown;
}

export function podToCreate<P extends { metadata: Meta }>(desiredPod: P, configMap: { metadata: Meta }): P {
  const labels = { ...desiredPod.metadata.labels };
  const annotations = { ...desiredPod.metadata.annotations };
  for (const l of TRACKING_LABELS) {
    const v = configMap.metadata.labels?.[l];
    if (v !== undefined) labels[l] = v;
  }
  const tracking = configMap.metadata.annotations?.[ARGOCD_TRACKING_ID];
  // The ConfigMap's id names the ConfigMap; the Pod's has the Pod's kind and the same name.
  if (tracking) annotations[ARGOCD_TRACKING_ID] = tracking.replace(/:\/ConfigMap:/, ':/Pod:');
  return { ...desiredPod, metadata: { ...desiredPod.metadata, labels, annotations } };
}
