/** The ConfigMaps of one cluster in a synthesized output, as plan reads them. */
import { LABEL_CLUSTER } from '../render/metadata.js';

export interface OutputConfigMap {
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
}

/** ConfigMaps in `namespace` labelled with `cluster`, in output order; null documents are skipped. */
export function clusterConfigMaps(objects: readonly unknown[], cluster: string, namespace: string): OutputConfigMap[] {
  return (objects as ReadonlyArray<OutputConfigMap | null | undefined>).filter((o): o is OutputConfigMap =>
    o?.kind === 'ConfigMap' && o.metadata?.labels?.[LABEL_CLUSTER] === cluster && o.metadata.namespace === namespace);
}
