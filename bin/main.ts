/** The kafka-cdk8s command line: one file per command under commands/. */
import { Command, CommanderError } from 'commander';
import { SpecValidationError } from '../lib/spec/problems.js';
import { MultiSpecError } from '../lib/synth.js';
import { controllerCommand } from './commands/controller.js';
import { planCommand } from './commands/plan.js';
import { schemaCommand } from './commands/schema.js';
import { synthCommand } from './commands/synth.js';
import { validateCommand } from './commands/validate.js';
import pkg from '../package.json' with { type: 'json' };

export function buildProgram(): Command {
  return new Command('kafka-cdk8s')
    .description('Kafka on Kubernetes from a GitOps repo: synthesize per-broker manifests from one cluster spec.')
    .version(pkg.version)
    .showHelpAfterError('(run with --help for usage)')
    .addCommand(synthCommand())
    .addCommand(validateCommand())
    .addCommand(planCommand())
    .addCommand(schemaCommand())
    .addCommand(controllerCommand());
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram().exitOverride();
  for (const sub of program.commands) sub.exitOverride();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode; // commander already printed help or the error
    if (err instanceof SpecValidationError || err instanceof MultiSpecError) {
      process.stderr.write(`error: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`error: ${(err as Error).message}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
