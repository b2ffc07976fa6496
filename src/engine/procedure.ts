import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { CustomerConfig } from '../config/customers';
import type { ActionRegistry } from './action-registry';
import { ENGINE_DATA_KEYS, RECORDED_FINDINGS, isRecordedFindingKey } from '../domain/incident-findings';
import { collectReferences, isMalformedReference, isReference, parseReference } from './input-references';

/**
 * A procedure is data: a YAML file of steps forming a DAG. It is validated completely when it is
 * loaded (at start-up), so a bad procedure stops the process with one sentence naming the file,
 * the step and the problem, instead of failing half-way through an incident.
 */

export interface ProcedureStep {
  id: string;
  title: string;
  action: string;
  needs: string[];
  /**
   * Steps this one waits for without depending on their outcome: it runs once each has ended
   * (succeeded, failed, rejected, skipped, cancelled, expired). The forensic report runs after
   * containment whether or not every containment step was approved.
   */
  after: string[];
  /** a step after containment (report, ticket, email): not counted for the incident's `contained` status */
  followUp: boolean;
  with: Record<string, unknown>;
  approval?: { twoPerson: boolean };
  /** incident.data keys filled from the result: { signIns24h: 'output.count' } */
  record: Record<string, string>;
  /** an input that, when it resolves to an empty list, makes the step `skipped` (nothing to act on) */
  skipIfEmpty?: string;
}

export interface Procedure {
  name: string;
  version: string;
  /** `name@version`, recorded on the incident */
  ref: string;
  file: string;
  steps: ProcedureStep[];
}

export const DEFAULT_PROCEDURE_FILE = resolve(__dirname, '../procedures/account-compromise-containment.yaml');
/** What a storm incident runs (src/intake/storm.ts): one approval per action across its accounts. */
export const STORM_PROCEDURE_FILE = resolve(__dirname, '../procedures/storm-containment.yaml');

export class ProcedureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProcedureError';
  }
}

const STEP_ID = /^[a-z][a-z0-9-]{0,47}$/;
const DATA_KEY = /^[A-Za-z][A-Za-z0-9]{0,63}$/;
// Keys the engine writes itself: a procedure cannot overwrite them through `record:`.
const RESERVED_DATA_KEYS = new Set(ENGINE_DATA_KEYS);

const stepSchema = z.object({
  id: z.string().regex(STEP_ID, 'step ids are lower-case letters, digits and dashes (e.g. entra-contain)'),
  title: z.string().min(1).max(120).optional(),
  action: z.string().min(3),
  needs: z.array(z.string()).default([]),
  after: z.array(z.string()).default([]),
  followUp: z.boolean().default(false),
  with: z.record(z.unknown()).default({}),
  approval: z.object({ twoPerson: z.boolean().default(false) }).strict().optional(),
  record: z.record(z.string()).default({}),
  skipIfEmpty: z.string().optional(),
}).strict();

const procedureSchema = z.object({
  name: z.string().min(1).max(100),
  version: z.union([z.string().regex(/^[A-Za-z0-9.\-]{1,20}$/), z.number().int().nonnegative()]),
  description: z.string().optional(),
  steps: z.array(stepSchema).min(1),
}).strict();

function issueText(issue: z.ZodIssue): string {
  return `${issue.path.length ? `key "${issue.path.join('.')}": ` : ''}${issue.message}`;
}

/** Parses and validates a procedure from text; `file` is used in every message. */
export function parseProcedure(text: string, file: string, registry: ActionRegistry): Procedure {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new ProcedureError(`${file}: not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  const parsed = procedureSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const stepIndex = issue.path[0] === 'steps' && typeof issue.path[1] === 'number' ? issue.path[1] : -1;
    const stepId = stepIndex >= 0 ? (raw as { steps?: Array<{ id?: unknown }> }).steps?.[stepIndex]?.id : undefined;
    const where = stepIndex >= 0 ? `step ${typeof stepId === 'string' ? `"${stepId}"` : `#${stepIndex + 1}`}: ` : '';
    const rest = stepIndex >= 0 ? { ...issue, path: issue.path.slice(2) } : issue;
    throw new ProcedureError(`${file}: ${where}${issueText(rest)}`);
  }
  const p = parsed.data;
  const fail = (step: string | null, problem: string): never => {
    throw new ProcedureError(`${file}: ${step ? `step "${step}": ` : ''}${problem}`);
  };

  const byId = new Map<string, z.infer<typeof stepSchema>>();
  for (const s of p.steps) {
    if (byId.has(s.id)) fail(s.id, 'the id is used twice');
    byId.set(s.id, s);
  }

  for (const s of p.steps) {
    const def = registry.get(s.action);
    if (!def) fail(s.id, `unknown action "${s.action}" (known: ${registry.names().join(', ')})`);
    for (const n of s.needs) {
      if (!byId.has(n)) fail(s.id, `needs unknown step "${n}"`);
      if (n === s.id) fail(s.id, 'needs itself');
    }
    for (const n of s.after) {
      if (!byId.has(n)) fail(s.id, `runs after unknown step "${n}"`);
      if (n === s.id) fail(s.id, 'runs after itself');
    }
    if (s.approval && def!.risk !== 'destructive') fail(s.id, `approval is only for destructive actions; ${s.action} is ${def!.risk}`);
    for (const [key, path] of Object.entries(s.record)) {
      if (!DATA_KEY.test(key) || RESERVED_DATA_KEYS.has(key)) fail(s.id, `record key "${key}" is not allowed (letters and digits; not ${[...RESERVED_DATA_KEYS].join(', ')})`);
      // The readers (card, report, CISO email, handoff, API) know only IncidentFindings' keys.
      if (!isRecordedFindingKey(key)) fail(s.id, `record key "${key}" is not a finding the readers know (src/domain/incident-findings.ts; known: ${Object.keys(RECORDED_FINDINGS).join(', ')})`);
      if (path !== 'summary' && !/^output(\.[A-Za-z0-9_]+(\[\])?)*$/.test(path)) fail(s.id, `record "${key}": "${path}" must be output[.field...] (field[] for every element of a list) or summary`);
    }
    if (s.skipIfEmpty !== undefined && !(s.skipIfEmpty in s.with)) fail(s.id, `skipIfEmpty names "${s.skipIfEmpty}", which is not one of its inputs`);
  }

  // Cycles, reported with the loop itself so the author sees which needs to cut.
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string, trail: string[]): void => {
    if (state.get(id) === 'done') return;
    if (state.get(id) === 'visiting') {
      const loop = [...trail.slice(trail.indexOf(id)), id];
      fail(id, `cycle in needs: ${loop.join(' → ')}`);
    }
    state.set(id, 'visiting');
    for (const n of [...byId.get(id)!.needs, ...byId.get(id)!.after]) visit(n, [...trail, id]);
    state.set(id, 'done');
  };
  for (const s of p.steps) visit(s.id, []);

  const ancestors = (id: string, acc = new Set<string>()): Set<string> => {
    for (const n of byId.get(id)!.needs) if (!acc.has(n)) { acc.add(n); ancestors(n, acc); }
    return acc;
  };

  for (const s of p.steps) {
    const before = ancestors(s.id);
    checkMalformed(s.with, (at) => fail(s.id, `input "${at}": a reference is written { from: <path> } and nothing else`));
    for (const { at, ref } of collectReferences(s.with)) {
      const r = parseReference(ref);
      if ('error' in r) fail(s.id, `input "${at}": ${r.error}`);
      else if (r.root === 'steps') {
        if (!byId.has(r.stepId)) fail(s.id, `input "${at}": refers to unknown step "${r.stepId}"`);
        if (!before.has(r.stepId)) fail(s.id, `input "${at}": refers to step "${r.stepId}", which it does not need (add it to needs)`);
      }
    }
    checkInputShape(s.id, s.action, s.with, registry, fail);
  }

  const version = String(p.version);
  return {
    name: p.name,
    version,
    ref: `${p.name}@${version}`,
    file,
    steps: p.steps.map((s) => ({
      id: s.id,
      title: s.title ?? `${s.action} (${s.id})`,
      action: s.action,
      needs: s.needs,
      after: s.after,
      followUp: s.followUp,
      with: s.with,
      ...(s.approval ? { approval: { twoPerson: s.approval.twoPerson } } : {}),
      record: s.record,
      ...(s.skipIfEmpty !== undefined ? { skipIfEmpty: s.skipIfEmpty } : {}),
    })),
  };
}

function checkMalformed(value: unknown, onBad: (at: string) => void, at = ''): void {
  if (isMalformedReference(value)) return onBad(at);
  if (isReference(value)) return;
  if (Array.isArray(value)) value.forEach((v, i) => checkMalformed(v, onBad, `${at}[${i}]`));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) checkMalformed(v, onBad, at ? `${at}.${k}` : k);
  }
}

/** Peels wrappers (effects, defaults, optional, nullable) off a zod schema to find its object shape. */
function objectShape(schema: z.ZodTypeAny): Record<string, z.ZodTypeAny> | undefined {
  let s: z.ZodTypeAny = schema;
  for (let i = 0; i < 10; i++) {
    if (s instanceof z.ZodObject) return s.shape as Record<string, z.ZodTypeAny>;
    if (s instanceof z.ZodEffects) s = s.innerType();
    else if (s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap();
    else if (s instanceof z.ZodDefault) s = s.removeDefault();
    else if (s instanceof z.ZodBranded) s = s.unwrap();
    else if (s instanceof z.ZodPipeline) s = s._def.in;
    else return undefined;
  }
  return undefined;
}

/**
 * What can be checked before an incident exists: the input names against the action's object
 * schema (unknown and missing keys), and every literal value (one holding no reference) against
 * its field's schema. Cross-field refinements are checked when the step is scheduled.
 */
function checkInputShape(stepId: string, action: string, withSpec: Record<string, unknown>, registry: ActionRegistry, fail: (step: string, problem: string) => never): void {
  const def = registry.get(action)!;
  const shape = objectShape(def.input as z.ZodTypeAny);
  if (!shape) return;
  const known = Object.keys(shape);
  for (const key of Object.keys(withSpec)) {
    if (!(key in shape)) fail(stepId, `input "${key}" is not an input of ${action} (it takes: ${known.join(', ') || 'nothing'})`);
  }
  for (const [key, field] of Object.entries(shape)) {
    if (!(key in withSpec)) {
      if (!field.isOptional()) fail(stepId, `missing input "${key}" required by ${action}`);
      continue;
    }
    const value = withSpec[key];
    if (collectReferences(value).length > 0) continue;
    const r = field.safeParse(value);
    if (!r.success) fail(stepId, `input "${key}" = ${JSON.stringify(value)} does not fit ${action}: ${issueText(r.error.issues[0])}`);
  }
}

export function loadProcedure(file: string, registry: ActionRegistry): Procedure {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ProcedureError(`${file}: cannot read the procedure (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseProcedure(text, file, registry);
}

/**
 * Earlier versions of procedures, kept for the incidents still running them: every `*.yaml` in the
 * `versions/` folder beside a procedure file (e.g. procedures/versions/account-compromise-containment@1.yaml).
 * An incident records `name@version` when it starts and runs that version to its end, so bumping
 * `version:` in the file changes new incidents only; the old text moves to versions/ until its
 * incidents are closed. `leaveOut`: files of the folder that belong to a procedure this catalog
 * does not load (the storm procedure's versions, for a catalog without it).
 */
export function loadEarlierVersions(procedureFile: string, registry: ActionRegistry, leaveOut?: (fileName: string) => boolean): Procedure[] {
  const dir = join(dirname(resolve(procedureFile)), 'versions');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new ProcedureError(`${dir}: cannot read the earlier procedure versions (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return names.filter((n) => (n.endsWith('.yaml') || n.endsWith('.yml')) && !leaveOut?.(n)).sort().map((n) => loadProcedure(join(dir, n), registry));
}

/**
 * The default procedure plus every customer override (CustomerConfig.procedure, a file relative
 * to the customers file), and the earlier versions open incidents may still run, all validated up
 * front. New incidents get the current file; an incident resolves the name@version it recorded.
 */
export class ProcedureCatalog {
  private readonly byRef = new Map<string, Procedure>();

  constructor(
    readonly defaultProcedure: Procedure,
    private readonly overrides: ReadonlyMap<string, Procedure> = new Map(),
    /** loadable by name@version only: never given to a new incident */
    earlier: readonly Procedure[] = [],
    /** the storm procedure; without one, a storm incident runs nothing and says so on its timeline */
    private readonly storm?: Procedure,
  ) {
    const current = new Set([defaultProcedure, ...overrides.values(), ...(storm ? [storm] : [])]);
    for (const p of [...current, ...earlier]) {
      const seen = this.byRef.get(p.ref);
      if (seen && seen.file !== p.file && JSON.stringify(seen.steps) !== JSON.stringify(p.steps)) {
        throw new ProcedureError(`${p.file}: ${p.ref} is also defined differently in ${seen.file}; change the version`);
      }
      if (!seen || current.has(p)) this.byRef.set(p.ref, p);
    }
  }

  /**
   * `stormFile`: the storm procedure; by default the shipped one when the default procedure is the
   * shipped one too (a test that brings its own default procedure and registry brings its own storm
   * file, or none: null).
   */
  static load(opts: { registry: ActionRegistry; customers: readonly CustomerConfig[]; customersFile?: string; defaultFile?: string; stormFile?: string | null }): ProcedureCatalog {
    const defaultFile = opts.defaultFile ?? DEFAULT_PROCEDURE_FILE;
    const stormFile = opts.stormFile === undefined ? (opts.defaultFile === undefined ? STORM_PROCEDURE_FILE : null) : opts.stormFile;
    const def = loadProcedure(defaultFile, opts.registry);
    const base = opts.customersFile ? dirname(resolve(opts.customersFile)) : process.cwd();
    const overrides = new Map<string, Procedure>();
    const loaded = new Map<string, Procedure>();
    // The storm procedure's earlier versions share the versions/ folder: a catalog without the storm
    // procedure (a test's own registry, without the storm actions) leaves them out as well.
    const stormPrefix = `${basename(STORM_PROCEDURE_FILE, '.yaml')}@`;
    const leaveOut = stormFile ? undefined : (name: string) => name.startsWith(stormPrefix);
    const earlier = new Map<string, Procedure[]>([[dirname(resolve(defaultFile)), loadEarlierVersions(defaultFile, opts.registry, leaveOut)]]);
    for (const c of opts.customers) {
      if (!c.procedure) continue;
      const file = join(base, c.procedure);
      const p = loaded.get(file) ?? loadProcedure(file, opts.registry);
      loaded.set(file, p);
      overrides.set(c.id, p);
      const dir = dirname(resolve(file));
      if (!earlier.has(dir)) earlier.set(dir, loadEarlierVersions(file, opts.registry, leaveOut));
    }
    let storm: Procedure | undefined;
    if (stormFile) {
      storm = loadProcedure(stormFile, opts.registry);
      const dir = dirname(resolve(stormFile));
      if (!earlier.has(dir)) earlier.set(dir, loadEarlierVersions(stormFile, opts.registry));
    }
    return new ProcedureCatalog(def, overrides, [...earlier.values()].flat(), storm);
  }

  /** The procedure a new storm incident of this customer runs (one for every customer), if loaded. */
  forStorm(_customerId: string): Procedure | undefined {
    return this.storm;
  }

  forCustomer(customerId: string): Procedure {
    return this.overrides.get(customerId) ?? this.defaultProcedure;
  }

  /** A procedure by the `name@version` an incident recorded: the current one or an earlier version. */
  get(ref: string): Procedure | undefined {
    return this.byRef.get(ref);
  }

  /** Every name@version this process can run (current and earlier). */
  refs(): string[] {
    return [...this.byRef.keys()];
  }
}
