/**
 * Synthesis of whole clusters to YAML text, shared by the CLI and the
 * cdk8s app entry point. All specs are validated before anything is returned,
 * so callers can write files only when everything is valid.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { App } from 'cdk8s';
import { toYamlDocuments } from './output/yaml.js';
import { KafkaClusterChart } from './constructs/kafka-cluster-chart.js';
import { SpecValidationError, type SpecProblem } from './spec/problems.js';
import type { SpecSource } from './spec/load.js';

export interface SynthesizedCluster {
  readonly name: string;
  readonly namespace: string;
  /** Whether the output holds the Namespace object. */
  readonly createsNamespace: boolean;
  /** Output file name: <name>.k8s.yaml */
  readonly fileName: string;
  readonly yaml: string;
  readonly objectCount: number;
}

/** Every problem of every spec, or thrown as one error; nothing partial. */
export function synthClusters(sources: readonly SpecSource[]): SynthesizedCluster[] {
  const failures: Array<{ source: string; problems: readonly SpecProblem[] }> = [];
  const results: SynthesizedCluster[] = [];
  for (const { spec, source } of sources) {
    try {
      results.push(synthCluster(spec, source));
    } catch (err) {
      if (err instanceof SpecValidationError) failures.push({ source, problems: err.problems });
      else throw err;
    }
  }
  const byFile = new Map<string, SynthesizedCluster>();
  const namespaceOwner = new Map<string, SynthesizedCluster>();
  for (const r of results) {
    const prior = byFile.get(r.fileName);
    if (prior) throw new Error(`two specs both name a cluster '${r.name}' (namespaces ${prior.namespace} and ${r.namespace}); output file ${r.fileName} would be written twice`);
    byFile.set(r.fileName, r);
    if (!r.createsNamespace) continue;
    // GitOps tools refuse an object that two files of one apply both define.
    const owner = namespaceOwner.get(r.namespace);
    if (owner) throw new Error(`clusters '${owner.name}' and '${r.name}' both create Namespace ${r.namespace}; set createNamespace: false on all but one of them`);
    namespaceOwner.set(r.namespace, r);
  }
  if (failures.length === 1) throw new SpecValidationError(failures[0]!.problems, failures[0]!.source);
  if (failures.length > 1) throw new MultiSpecError(failures.map((f) => new SpecValidationError(f.problems, f.source)));
  return results;
}

export function synthCluster(spec: unknown, source?: string): SynthesizedCluster {
  // Only synthYaml-style output is used; nothing is written to outdir.
  const app = new App();
  const chart = new KafkaClusterChart(app, 'kafka', { spec: spec as never, source });
  const model = chart.cluster.model;
  const objects = chart.toJson();
  return {
    name: model.name,
    namespace: model.namespace,
    createsNamespace: model.createNamespace,
    fileName: `${model.name}.k8s.yaml`,
    yaml: toYamlDocuments(objects),
    objectCount: objects.length,
  };
}

/**
 * Writes each cluster to <outdir>/<name>.k8s.yaml, atomically (temp file, then
 * rename), so a reader or a crash never sees half a file. Returns the paths.
 */
export function writeClusters(clusters: readonly SynthesizedCluster[], outdir: string): string[] {
  const dir = resolve(outdir);
  // Kernel file systems are no place for output, and Node's recursive mkdir spins forever under /proc.
  const virtual = VIRTUAL_FILE_SYSTEMS.find((root) => dir === root || dir.startsWith(`${root}/`));
  if (virtual) throw new Error(`cannot write to ${outdir}: ${virtual} is a kernel file system; choose an output directory on disk`);
  return withFsErrors(outdir, () => {
    mkdirSync(dir, { recursive: true });
    return clusters.map((cluster) => {
      const target = join(outdir, cluster.fileName);
      const temp = `${target}.tmp-${process.pid}`;
      writeFileSync(temp, cluster.yaml);
      renameSync(temp, target);
      return target;
    });
  });
}

const VIRTUAL_FILE_SYSTEMS = ['/proc', '/sys', '/dev'];
const FS_ERRORS: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EEXIST: 'a part of the path is a file, not a directory',
  EISDIR: 'an output file name is taken by a directory',
  ENOSPC: 'no space left on the device',
};

/** Runs `write`, turning a raw file-system error into a sentence that names the output directory. */
function withFsErrors<T>(outdir: string, write: () => T): T {
  try {
    return write();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === undefined) throw err;
    throw new Error(`cannot write to ${outdir}: ${FS_ERRORS[code] ?? (err as Error).message}`);
  }
}

/** Several specs were invalid; the message lists each one's problems. */
export class MultiSpecError extends Error {
  constructor(readonly errors: readonly SpecValidationError[]) {
    super(errors.map((e) => e.message).join('\n'));
    this.name = 'MultiSpecError';
  }
}
