import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { synthClusters } from '../../lib/synth.js';
import { loadSpecFiles, specFileOption } from './spec-files.js';

interface SynthOptions { readonly file: string[]; readonly output: string; readonly stdout?: boolean }

export function synthCommand(): Command {
  return new Command('synth')
    .description('Validate cluster specs and write one <cluster>.k8s.yaml per cluster, ready to commit to a GitOps repo.')
    .addOption(specFileOption())
    .option('-o, --output <dir>', 'output directory', 'dist')
    .option('--stdout', 'print the YAML to standard output instead of writing files')
    .addHelpText('after', '\nExample:\n  $ kafka-cdk8s synth -f cluster.yaml -o dist/\n\nNothing is written unless every spec is valid.')
    .action((opts: SynthOptions) => {
      const clusters = synthClusters(loadSpecFiles(opts.file));
      if (opts.stdout) {
        process.stdout.write(clusters.map((c) => c.yaml).join('---\n'));
        return;
      }
      mkdirSync(opts.output, { recursive: true });
      for (const cluster of clusters) {
        // Write then rename, so a reader (or a crash) never sees half a file.
        const target = join(opts.output, cluster.fileName);
        const temp = `${target}.tmp-${process.pid}`;
        writeFileSync(temp, cluster.yaml);
        renameSync(temp, target);
        process.stderr.write(`wrote ${target} (${cluster.objectCount} objects, cluster ${cluster.namespace}/${cluster.name})\n`);
      }
    });
}
