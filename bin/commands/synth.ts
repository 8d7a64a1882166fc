import { Command } from 'commander';
import { synthClusters, writeClusters } from '../../lib/synth.js';
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
      writeClusters(clusters, opts.output).forEach((target, i) => {
        const cluster = clusters[i]!;
        process.stderr.write(`wrote ${target} (${cluster.objectCount} objects, cluster ${cluster.namespace}/${cluster.name})\n`);
      });
    });
}
