import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { loadAll } from 'js-yaml';
import { buildPlanReport, formatJson, formatMarkdown, formatText, type PlanReport } from '../../lib/plan/plan-report.js';
import { resolveSpec } from '../../lib/spec/resolve.js';
import { synthClusters } from '../../lib/synth.js';
import { loadSpecFiles, specFileOption } from './spec-files.js';

type Format = 'text' | 'markdown' | 'json';

interface PlanOptions {
  readonly file: string[];
  readonly previous?: string;
  readonly previousRef?: string;
  readonly previousPath?: string;
  readonly format: Format;
  readonly json?: boolean;
}

/** Where `synth -o` writes by default: the previous output's path in the repository. */
const DEFAULT_PREVIOUS_PATH = 'dist/';
const YAML_FILE = /\.ya?ml$/;

export function planCommand(): Command {
  return new Command('plan')
    .description('Say, per node, what applying the spec will do compared with the output synthesized before: restart (and why), '
      + 'change config live (which keys, set or deleted), create, remove; and the order of the restarts. Exit 0 whatever the plan.')
    .addOption(specFileOption())
    .option('--previous <dir>', 'the previous output: a directory (every *.yaml / *.yml under it) or one file')
    .option('--previous-ref <git-ref>', 'read the previous output from this git commit, branch or tag (of the repository holding the spec file)')
    .option('--previous-path <path>', `with --previous-ref: the output directory, from the repository root (default: ${DEFAULT_PREVIOUS_PATH})`)
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'markdown', 'json']).default('text'))
    .option('--json', 'shorthand for --format json')
    .addHelpText('after', '\nExamples:\n'
      + '  $ kafka-cdk8s plan -f cluster.yaml --previous dist/\n'
      + '  $ kafka-cdk8s plan -f cluster.yaml --previous-ref origin/main --format markdown   # a pull-request comment\n')
    .action((opts: PlanOptions, command: Command) => {
      const format = chooseFormat(opts, command.getOptionValueSource('format') === 'cli');
      const previous = readPrevious(opts);
      const sources = loadSpecFiles(opts.file);
      const clusters = synthClusters(sources); // every spec valid, or SpecValidationError / MultiSpecError as validate prints them
      const reports: PlanReport[] = clusters.map((next, i) => buildPlanReport({
        previous: previous.objects,
        previousSource: previous.source,
        next,
        model: resolveSpec(sources[i]!.spec, sources[i]!.source),
      }));
      if (format === 'json') process.stdout.write(formatJson(reports.length === 1 ? reports[0]! : reports));
      else process.stdout.write(reports.map(format === 'markdown' ? formatMarkdown : formatText).join('\n'));
    });
}

function chooseFormat(opts: PlanOptions, formatGiven: boolean): Format {
  if (!opts.json) return opts.format;
  if (formatGiven && opts.format !== 'json') throw new Error(`--json and --format ${opts.format} disagree; give one of them`);
  return 'json';
}

interface PreviousOutput {
  readonly objects: unknown[];
  /** For messages: the directory, or ref:path. */
  readonly source: string;
}

function readPrevious(opts: PlanOptions): PreviousOutput {
  if (opts.previous !== undefined && opts.previousRef !== undefined) throw new Error('give either --previous or --previous-ref, not both');
  if (opts.previousPath !== undefined && opts.previousRef === undefined) throw new Error('--previous-path goes with --previous-ref (with --previous, give the directory itself)');
  if (opts.previous !== undefined) return readPreviousDir(opts.previous);
  if (opts.previousRef !== undefined) return readPreviousRef(opts.previousRef, opts.previousPath ?? DEFAULT_PREVIOUS_PATH, opts.file[0]!);
  throw new Error('plan compares with the output synthesized before: give --previous <dir> or --previous-ref <git-ref>');
}

function readPreviousDir(path: string): PreviousOutput {
  let files: string[];
  try {
    files = statSync(path).isDirectory() ? yamlFilesUnder(path) : [path];
  } catch (err) {
    throw new Error(`cannot read the previous output ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
  }
  if (files.length === 0) throw new Error(`no *.yaml or *.yml files under ${path}: is it the directory synth writes to?`);
  return { objects: files.flatMap((f) => parseYaml(readFileSync(f, 'utf8'), f)), source: path };
}

/** Every *.yaml / *.yml file under `dir`, recursively, sorted; hidden directories (.git) are skipped. */
function yamlFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!entry.name.startsWith('.')) out.push(...yamlFilesUnder(path));
    } else if (YAML_FILE.test(entry.name)) {
      out.push(path);
    }
  }
  return out;
}

function readPreviousRef(ref: string, path: string, specFile: string): PreviousOutput {
  if (ref.startsWith('-')) throw new Error(`--previous-ref ${ref}: not a git ref`);
  if (path.startsWith('/')) throw new Error(`--previous-path ${path}: give the path from the repository root, not an absolute path`);
  const root = gitRoot(dirname(resolve(specFile))) ?? gitRoot(process.cwd());
  if (root === undefined) throw new Error(`--previous-ref needs a git repository: neither ${dirname(resolve(specFile))} (the spec file's directory) nor ${process.cwd()} is in one`);
  try {
    git(root, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  } catch {
    throw new Error(`no commit ${ref} in the git repository ${root} (a branch, tag or commit; fetch it first if it is remote)`);
  }
  const files = git(root, ['ls-tree', '-r', '--name-only', '-z', ref, '--', path]).split('\0').filter((f) => f !== '').sort();
  if (files.length === 0) throw new Error(`nothing at ${path} in ${ref} (repository ${root}); give the output directory from the repository root with --previous-path`);
  const yamlFiles = files.filter((f) => YAML_FILE.test(f));
  if (yamlFiles.length === 0) throw new Error(`no *.yaml or *.yml files under ${path} in ${ref} (repository ${root})`);
  return {
    objects: yamlFiles.flatMap((f) => parseYaml(git(root, ['show', `${ref}:${f}`]), `${ref}:${f}`)),
    source: `${ref}:${path}`,
  };
}

function gitRoot(dir: string): string | undefined {
  try {
    return git(dir, ['rev-parse', '--show-toplevel']).trim();
  } catch {
    return undefined;
  }
}

function git(cwd: string, args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30 });
}

function parseYaml(text: string, where: string): unknown[] {
  try {
    return loadAll(text).filter((doc) => doc !== null && doc !== undefined);
  } catch (err) {
    throw new Error(`cannot read the previous output ${where}: not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
}
