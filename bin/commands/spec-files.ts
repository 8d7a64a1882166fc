import { Option } from 'commander';
import { loadSpecFile, type SpecSource } from '../../lib/spec/load.js';

/** The -f option shared by commands that read cluster specs. */
export function specFileOption(): Option {
  return new Option('-f, --file <path...>', 'cluster spec YAML file(s); a file may hold several specs as YAML documents')
    .makeOptionMandatory();
}

export function loadSpecFiles(files: readonly string[]): SpecSource[] {
  return files.flatMap((file) => loadSpecFile(file));
}
