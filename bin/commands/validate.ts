import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { controllersInOutput, quorumChange } from '../../lib/plan/quorum-change.js';
import { resolveSpec } from '../../lib/spec/resolve.js';
import { specWarnings } from '../../lib/spec/validate.js';
import { loadSpecFiles, specFileOption } from './spec-files.js';
import { SpecValidationError } from '../../lib/spec/problems.js';
import { MultiSpecError } from '../../lib/synth.js';

interface ValidateOptions { readonly file: string[]; readonly previous?: string }

export function validateCommand(): Command {
  return new Command('validate')
    .description('Check cluster specs and report every problem (field path, value, what is allowed); exit 1 if any. Warnings go to stderr and do not fail.')
    .addOption(specFileOption())
    .option('--previous <path>', 'the output synthesized before (a directory of *.k8s.yaml or one file): also say what a change of the controllers will need')
    .action((opts: ValidateOptions) => {
      const previous = opts.previous === undefined ? undefined : controllersInOutput(readOutput(opts.previous));
      const errors: SpecValidationError[] = [];
      for (const { spec, source } of loadSpecFiles(opts.file)) {
        for (const w of specWarnings(spec)) process.stderr.write(`warning: ${source}: ${w.path}: ${w.message}\n`);
        try {
          const model = resolveSpec(spec, source);
          process.stdout.write(`${source}: cluster ${model.namespace}/${model.name} is valid `
            + `(${model.brokers.length} brokers, ${model.voters.length} controllers, ${model.controllerMode} mode)\n`);
          const before = previous?.get(model.name);
          if (before) for (const note of quorumChange(before, model).notes) process.stdout.write(`  controllers: ${note}\n`);
        } catch (err) {
          if (err instanceof SpecValidationError) errors.push(err);
          else throw err;
        }
      }
      if (errors.length === 1) throw errors[0];
      if (errors.length > 1) throw new MultiSpecError(errors);
    });
}

function readOutput(path: string): string {
  try {
    if (!statSync(path).isDirectory()) return readFileSync(path, 'utf8');
    return readdirSync(path).filter((f) => f.endsWith('.yaml')).sort().map((f) => readFileSync(join(path, f), 'utf8')).join('\n---\n');
  } catch (err) {
    throw new Error(`cannot read the previous output ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
  }
}
