/** A validation problem: where in the spec, and what is wrong (value and what is allowed). */
export interface SpecProblem {
  readonly path: string;
  readonly message: string;
  /** A warning: the spec is valid, but probably not what was meant. */
  readonly warning?: true;
}

/** Renders a path such as ['brokers', 1, 'config', 'log.dirs'] as brokers[1].config["log.dirs"]. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (typeof part === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(part)) out += out ? `.${part}` : part;
    else out += `[${JSON.stringify(String(part))}]`;
  }
  return out || '(spec)';
}

/** Thrown when a spec is invalid; carries every problem found, not just the first. */
export class SpecValidationError extends Error {
  readonly problems: readonly SpecProblem[];
  constructor(problems: readonly SpecProblem[], source?: string) {
    const where = source ? ` in ${source}` : '';
    super(`invalid cluster spec${where} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n`
      + problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n'));
    this.name = 'SpecValidationError';
    this.problems = problems;
  }
}

/** Short, single-line rendering of a user value for messages. */
export function showValue(value: unknown): string {
  const text = typeof value === 'bigint' ? value.toString() : JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
