import { Command } from 'commander';
import { resolveSpec } from '../../lib/spec/resolve.js';
import { specWarnings } from '../../lib/spec/validate.js';
import { loadSpecFiles, specFileOption } from './spec-files.js';
import { SpecValidationError } from '../../lib/spec/problems.js';
import { MultiSpecError } from '../../lib/synth.js';

export function validateCommand(): Command {
  return new Command('validate')
    .description('Check cluster specs and report every problem (field path, value, what is allowed); exit 1 if any. Warnings go to stderr and do not fail.')
    .addOption(specFileOption())
    .action((opts: { file: string[] }) => {
      const errors: SpecValidationError[] = [];
      for (const { spec, source } of loadSpecFiles(opts.file)) {
        for (const w of specWarnings(spec)) process.stderr.write(`warning: ${source}: ${w.path}: ${w.message}\n`);
        try {
          const model = resolveSpec(spec, source);
          process.stdout.write(`${source}: cluster ${model.namespace}/${model.name} is valid `
            + `(${model.brokers.length} brokers, ${model.voters.length} controllers, ${model.controllerMode} mode)\n`);
        } catch (err) {
          if (err instanceof SpecValidationError) errors.push(err);
          else throw err;
        }
      }
      if (errors.length === 1) throw errors[0];
      if (errors.length > 1) throw new MultiSpecError(errors);
    });
}
