/**
 * The kafka-cdk8s command line: one file per command under commands/. Only the command
 * being run is loaded (all of them for help): the controller runs for months in a small
 * container and has no use for the synthesizer's cdk8s libraries.
 */
import { Command, CommanderError } from 'commander';
import pkg from '../package.json' with { type: 'json' };

const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  synth: async () => (await import('./commands/synth.js')).synthCommand(),
  validate: async () => (await import('./commands/validate.js')).validateCommand(),
  plan: async () => (await import('./commands/plan.js')).planCommand(),
  schema: async () => (await import('./commands/schema.js')).schemaCommand(),
  controller: async () => (await import('./commands/controller.js')).controllerCommand(),
  certs: async () => (await import('./commands/certs.js')).certsCommand(),
};

export async function buildProgram(only?: string): Promise<Command> {
  const program = new Command('kafka-cdk8s')
    .description('Kafka on Kubernetes from a GitOps repo: synthesize per-broker manifests from one cluster spec, plan a change, run the runtime controller.')
    .version(pkg.version)
    .showHelpAfterError('(run with --help for usage)');
  const names = only !== undefined && Object.hasOwn(COMMANDS, only) ? [only] : Object.keys(COMMANDS);
  for (const name of names) program.addCommand(await COMMANDS[name]!());
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = (await buildProgram(argv[0])).exitOverride();
  for (const sub of program.commands) sub.exitOverride();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode; // commander already printed help or the error
    process.stderr.write(`error: ${(err as Error).message}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
