import { Command, InvalidArgumentError, Option } from 'commander';
import { runController, type ControllerRunOptions } from '../../lib/controller/run.js';

/** The options as commander gives them: the bootstrap list is still one string. */
type ControllerFlags = Omit<ControllerRunOptions, 'bootstrap'> & { readonly bootstrap: string };

const wholeNumber = (flag: string, min: number) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${flag} must be a whole number >= ${min}, got ${JSON.stringify(value)}`);
  return n;
};

export function controllerCommand(): Command {
  return new Command('controller')
    .description('Run the runtime controller of one cluster: keeps its Pods alive, changes config live where Kafka allows it, rolls restarts one health-gated node at a time. Deployed by the synth (see README "The runtime controller").')
    .requiredOption('--namespace <ns>', 'namespace of the cluster')
    .requiredOption('--cluster <name>', 'name of the cluster (its kafka-cdk8s.io/cluster label)')
    .requiredOption('--bootstrap <host:port,...>', 'Kafka bootstrap addresses')
    .option('--failure-threshold <n>', 'failures a restart tolerates (other nodes out of sync, firing hold alerts)', wholeNumber('--failure-threshold', 0), 0)
    .option('--alertmanager-url <url>', 'Alertmanager whose firing hold alerts hold restarts')
    .option('--hold-label <name>', 'alert label that holds restarts when "true"', 'kafka_cdk8s_hold_roll')
    .option('--listen <host:port>', 'address of /metrics and /healthz', '0.0.0.0:8080')
    .option('--kubeconfig <path>', 'kubeconfig file (default: in-cluster ServiceAccount)')
    .option('--identity <id>', 'holder identity in the Lease (default: $POD_NAME)')
    .option('--tls-dir <dir>', "a mounted TLS Secret (ca.crt; tls.crt and tls.key for mutual TLS): Kafka's internal listener speaks TLS")
    .option('--lease-seconds <n>', 'Lease duration', wholeNumber('--lease-seconds', 2), 15)
    .addOption(new Option('--log-level <level>', 'minimum log level').choices(['debug', 'info', 'warn', 'error']).default('info'))
    .action(async (flags: ControllerFlags) => {
      const bootstrap = flags.bootstrap.split(',').map((s) => s.trim()).filter(Boolean);
      if (bootstrap.length === 0) throw new Error('--bootstrap names no address');
      const stop = new AbortController();
      const onSignal = (): void => stop.abort();
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
      try {
        await runController({ ...flags, bootstrap }, stop.signal);
      } finally {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      }
    });
}
