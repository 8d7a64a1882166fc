import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { kafkaClusterJsonSchema } from '../../lib/spec/schema.js';

export function schemaCommand(): Command {
  return new Command('schema')
    .description('Print the JSON Schema of the cluster spec (for editor completion on YAML specs).')
    .option('-o, --output <file>', 'write to a file instead of standard output')
    .action((opts: { output?: string }) => {
      const text = `${JSON.stringify(kafkaClusterJsonSchema(), null, 2)}\n`;
      if (opts.output) writeFileSync(opts.output, text);
      else process.stdout.write(text);
    });
}
