/**
 * Entry point for `cdk8s synth` (see cdk8s.yaml), for users who prefer the
 * cdk8s CLI. Specs come from KAFKA_CDK8S_SPEC (comma-separated YAML files),
 * default examples/cluster.yaml. Files go to CDK8S_OUTDIR (set by cdk8s), in
 * the same bytes as `kafka-cdk8s synth`, which uses a faster YAML writer.
 */
import { loadSpecFile } from '../lib/spec/load.js';
import { synthClusters, writeClusters } from '../lib/synth.js';

const files = (process.env.KAFKA_CDK8S_SPEC ?? 'examples/cluster.yaml').split(',').filter(Boolean);
writeClusters(synthClusters(files.flatMap((f) => loadSpecFile(f))), process.env.CDK8S_OUTDIR ?? 'dist');
