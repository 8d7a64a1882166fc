import { Command } from 'commander';
import { resolveSpec } from '../../lib/spec/resolve.js';
import { loadSpecFiles, specFileOption } from './spec-files.js';
import { KubeClient } from '../../lib/controller/adapters/kube/client.js';
import { KubeConnection } from '../../lib/controller/adapters/kube/connection.js';
import { provisionCertificates } from '../../lib/controller/certificates.js';
import { namingContext } from '../../lib/config/listeners.js';
import { desiredCertificates, durationMs } from '../../lib/tls/desired-certificates.js';
import { clusterLabels, LABEL_COMPONENT } from '../../lib/render/metadata.js';

interface CertsOptions { readonly file: string[]; readonly kubeconfig?: string; readonly context?: string }

export function certsCommand(): Command {
  return new Command('certs')
    .description("For clusters with tls.mode 'provisioned': create the cluster's CA and every node's (and the runtime controller's) TLS Secret in Kubernetes, and renew those due; idempotent. No key is printed or written to disk. The runtime controller does the same on every pass.")
    .addOption(specFileOption())
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, else in-cluster)')
    .option('--context <name>', 'kubeconfig context (default: its current-context)')
    .action(async (opts: CertsOptions) => {
      const sources = loadSpecFiles(opts.file);
      const models = sources.map(({ spec, source }) => ({ model: resolveSpec(spec, source), source }));
      for (const { model, source } of models) {
        if (model.tls?.mode !== 'provisioned') {
          throw new Error(`${source}: tls.mode is ${model.tls ? `'${model.tls.mode}'` : 'not set (no tls section)'}; kafka-cdk8s certs makes certificates for tls.mode 'provisioned' only`);
        }
      }
      const kubeconfig = opts.kubeconfig ?? process.env.KUBECONFIG;
      const connection = kubeconfig ? KubeConnection.fromKubeconfig(kubeconfig, opts.context) : KubeConnection.inCluster();
      for (const { model } of models) {
        const tls = model.tls!;
        const result = await provisionCertificates(new KubeClient(connection, model.namespace), {
          caName: tls.caName,
          caCommonName: `${model.namespace}/${model.name} Kafka CA`,
          certificates: desiredCertificates({ naming: namingContext(model), tls, nodes: model.nodes, operator: model.operator !== undefined }),
          validityMs: durationMs(tls.duration),
          renewBeforeMs: durationMs(tls.renewBefore),
          labels: { ...clusterLabels(model), [LABEL_COMPONENT]: 'tls' },
        });
        const where = `${model.namespace}/${model.name}`;
        process.stdout.write(`${where}: ${result.caCreated ? `created the CA (Secret ${tls.caName})` : `CA in Secret ${tls.caName}`}\n`);
        for (const i of result.issued) process.stdout.write(`${where}: issued ${i.secretName}: ${i.reason}\n`);
        if (result.deferred > 0) process.stdout.write(`${where}: ${result.deferred} Secret(s) changed meanwhile; run again\n`);
        if (result.issued.length === 0 && result.deferred === 0) process.stdout.write(`${where}: every certificate is in place and not due\n`);
      }
    });
}
