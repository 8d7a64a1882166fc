/**
 * Entry point for `cdk8s synth` (see cdk8s.yaml), for users who prefer the
 * cdk8s CLI. Specs come from KAFKA_CDK8S_SPEC (comma-separated YAML files),
 * default examples/cluster.yaml. Files go to CDK8S_OUTDIR (set by cdk8s), in
 * the same bytes as `kafka-cdk8s synth`, which uses a faster YAML writer.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSpecFile } from '../lib/spec/load.js';
import { synthClusters } from '../lib/synth.js';

const files = (process.env.KAFKA_CDK8S_SPEC ?? 'examples/cluster.yaml').split(',').filter(Boolean);
const outdir = process.env.CDK8S_OUTDIR ?? 'dist';
const clusters = synthClusters(files.flatMap((f) => loadSpecFile(f)));
mkdirSync(outdir, { recursive: true });
for (const cluster of clusters) writeFileSync(join(outdir, cluster.fileName), cluster.yaml);
