/**
 * Validation entry points: structural rules from the zod schema plus the
 * cross-field rules, all reported together with path, value and what is allowed.
 */
import type { z } from 'zod';
import { kafkaClusterSpecSchema, type KafkaClusterSpec, type ParsedClusterSpec } from './schema.js';
import { checkSemantics } from './semantics.js';
import { formatPath, showValue, SpecValidationError, type SpecProblem } from './problems.js';
import { didYouMean } from './suggest.js';

/** Every problem in `input`, structural and semantic; empty when valid. */
export function validateSpec(input: unknown): SpecProblem[] {
  const parsed = kafkaClusterSpecSchema.safeParse(input);
  const structural = parsed.success ? [] : parsed.error.issues.flatMap((issue) => describeIssue(issue, input));
  const all = [...structural, ...checkSemantics(input).filter((p) => !p.warning)];
  const seen = new Set<string>();
  return all.filter((p) => {
    const key = `${p.path}\u0000${p.message}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
}

/** Things in a spec that are valid but probably not what was meant (e.g. an even quorum). */
export function specWarnings(input: unknown): SpecProblem[] {
  return checkSemantics(input).filter((p) => p.warning);
}

/** Parses and validates a spec; throws SpecValidationError listing every problem. */
export function parseSpec(input: KafkaClusterSpec | unknown, source?: string): ParsedClusterSpec {
  const problems = validateSpec(input);
  if (problems.length > 0) throw new SpecValidationError(problems, source);
  return kafkaClusterSpecSchema.parse(input);
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): SpecProblem[] {
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeysAt(issue.path);
    return issue.keys.map((key) => ({
      path: formatPath([...issue.path, key]),
      message: `unknown field${allowed ? `; ${didYouMean(key, allowed)}allowed fields here: ${allowed.join(', ')}` : ''}`,
    }));
  }
  if (issue.code === 'invalid_key') {
    // A map key that breaks the key rule: say which rule, and show the key, not its value.
    const key = issue.path.at(-1);
    return [{ path: formatPath(issue.path), message: `${issue.issues[0]?.message ?? 'invalid key'} (key ${showValue(key)})` }];
  }
  const value = valueAt(input, issue.path);
  const got = value === undefined ? 'it is missing' : `got ${showValue(value)}`;
  if (typeof value === 'bigint') {
    const max = numberBoundAt(issue.path);
    return [{ path: formatPath(issue.path), message: `is too large${max !== undefined ? `: at most ${max}` : ''} (${got})` }];
  }
  let message = issue.message;
  if (issue.code === 'invalid_value' && 'values' in issue) message = `must be one of ${issue.values.map((v) => showValue(v)).join(', ')}`;
  else if (issue.code === 'invalid_type' && value === undefined) message = `is required (${issue.expected})`;
  else if (message.startsWith('Invalid input: ')) message = message.slice('Invalid input: '.length);
  return [{ path: formatPath(issue.path), message: value === undefined && issue.code === 'invalid_type' ? message : `${message} (${got})` }];
}

function valueAt(input: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let current: unknown = input;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function schemaAt(path: ReadonlyArray<PropertyKey>): z.core.$ZodType | undefined {
  let schema: z.core.$ZodType | undefined = kafkaClusterSpecSchema;
  for (const key of path) {
    schema = schema && childSchema(unwrap(schema), key);
  }
  return schema && unwrap(schema);
}

/** The field names the schema allows at `path`, for "unknown field" messages. */
function allowedKeysAt(path: ReadonlyArray<PropertyKey>): string[] | undefined {
  const def = schemaAt(path)?._zod.def as { type: string; shape?: Record<string, unknown> } | undefined;
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : undefined;
}

/** The largest number the schema allows at `path`, if it is a bounded number. */
function numberBoundAt(path: ReadonlyArray<PropertyKey>): number | undefined {
  const checks = (schemaAt(path)?._zod.def as { checks?: Array<{ _zod: { def: { check: string; value?: number } } }> } | undefined)?.checks;
  return checks?.find((c) => c._zod.def.check === 'less_than')?._zod.def.value;
}

function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  let current = schema;
  for (;;) {
    const def = current._zod.def as { type: string; innerType?: z.core.$ZodType };
    if ((def.type === 'optional' || def.type === 'default' || def.type === 'nullable' || def.type === 'prefault') && def.innerType) current = def.innerType;
    else return current;
  }
}

function childSchema(schema: z.core.$ZodType, key: PropertyKey): z.core.$ZodType | undefined {
  const def = schema._zod.def as { type: string; shape?: Record<string, z.core.$ZodType>; element?: z.core.$ZodType; valueType?: z.core.$ZodType };
  if (def.type === 'object') return def.shape?.[String(key)];
  if (def.type === 'array') return def.element;
  if (def.type === 'record') return def.valueType;
  return undefined;
}
