/**
 * The read side's query language: a zod schema for actor queries, and the one
 * parameterized SQL statement each query becomes. See docs/read-side.md.
 *
 * Every value, field name and state of a query is a statement parameter; the SQL
 * text only varies with the query's shape (how many conditions, which operators,
 * which order), so prepared statements are reused.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { Token } from '../../bus/address.ts';

/** Operators of a `where` condition. */
export const OPERATORS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'exists', 'contains'] as const;
/** An operator of a `where` condition. */
export type Operator = (typeof OPERATORS)[number];

/** A context field: `name` or one nested level `name.sub`, each `^[a-zA-Z][a-zA-Z0-9_]*$`. */
const FIELD = /^[a-zA-Z][a-zA-Z0-9_]*(\.[a-zA-Z][a-zA-Z0-9_]*)?$/;
const FieldName = z
  .string({ error: 'must be a string' })
  .max(128, 'is longer than 128 characters')
  .regex(FIELD, 'must be a context field: letters, digits and _ starting with a letter, with at most one nested level (lastTouch.at)');

/** A state value as the `state` column spells it: `open`, `open.lead`, parallel regions joined by `|`. */
const StateName = z
  .string({ error: 'must be a string' })
  .max(300, 'is longer than 300 characters')
  .regex(/^[A-Za-z0-9_$-]+([.|][A-Za-z0-9_$-]+)*$/, 'must be a state such as "open" or "open.lead" (names joined by "." or "|")');

type Scalar = string | number | boolean | null;
const isScalar = (v: unknown): v is Scalar =>
  v === null || typeof v === 'boolean' || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
const show = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v));

/** One condition on a context field. */
export type WhereClause =
  | { field: string; op: 'eq' | 'ne'; value: Scalar }
  | { field: string; op: 'gt' | 'gte' | 'lt' | 'lte'; value: string | number }
  | { field: string; op: 'in'; value: Scalar[] }
  | { field: string; op: 'exists'; value: boolean }
  | { field: string; op: 'contains'; value: string };

const Where = z
  .object(
    {
      field: FieldName,
      op: z.enum(OPERATORS, { error: (iss) => `unknown operator ${show(iss.input)}; use one of ${OPERATORS.join(', ')}` }),
      value: z.unknown(),
    },
    { error: 'must be an object { field, op, value }' },
  )
  .strict()
  .superRefine((w, ctx) => {
    const bad = (message: string) => ctx.addIssue({ code: 'custom', path: ['value'], message });
    const v = w.value;
    switch (w.op) {
      case 'eq':
      case 'ne':
        if (!isScalar(v)) bad(`${w.op} needs a string, number, boolean or null, not ${show(v)}`);
        else if (typeof v === 'string' && v.length > 1000) bad('is longer than 1000 characters');
        break;
      case 'gt':
      case 'gte':
      case 'lt':
      case 'lte':
        if (!(typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)))) bad(`${w.op} needs a number or a string (an ISO time compares as text), not ${show(v)}`);
        else if (typeof v === 'string' && v.length > 1000) bad('is longer than 1000 characters');
        break;
      case 'in':
        if (!Array.isArray(v) || v.length === 0 || v.length > 100 || !v.every(isScalar)) bad(`in needs a list of 1 to 100 strings, numbers, booleans or nulls, not ${show(v)}`);
        break;
      case 'exists':
        if (typeof v !== 'boolean') bad(`exists needs true or false, not ${show(v)}`);
        break;
      case 'contains':
        if (typeof v !== 'string' || v.length === 0 || v.length > 200) bad(`contains needs a text of 1 to 200 characters, not ${show(v)}`);
        break;
    }
  })
  .transform((w) => w as WhereClause);

/** The order of a query: a context field, or the columns `updatedAt` and `key`. */
const OrderBy = z
  .object({ field: FieldName, dir: z.enum(['asc', 'desc'], { error: (iss) => `unknown direction ${show(iss.input)}; use asc or desc` }).default('asc') }, { error: 'must be an object { field, dir }' })
  .strict();

/**
 * A query over the committed actors of one kind. Unknown keys, operators and
 * malformed field names are refused (see `parseActorQuery`).
 *
 * @example
 * { kind: 'contact', state: 'active', where: [{ field: 'priority', op: 'gte', value: 3 }], orderBy: { field: 'priority', dir: 'desc' }, limit: 50 }
 */
export const ActorQuery = z
  .object(
    {
      kind: Token,
      /** This state or one nested in it, in any parallel region: `open` matches `open.lead` and `open.stage.lead|followUp.idle`, never `opened`. */
      state: StateName.optional(),
      /** Conditions on context fields, all of which must hold. */
      where: z.array(Where, { error: 'must be a list of { field, op, value }' }).max(20, 'has more than 20 conditions').default([]),
      /** A context field, or `updatedAt` / `key` (the columns). @default { field: 'key', dir: 'asc' } */
      orderBy: OrderBy.default({ field: 'key', dir: 'asc' }),
      limit: z.number({ error: 'must be a number' }).int('must be an integer').min(1, 'must be at least 1').max(1000, 'must be at most 1000').default(100),
      /** The `next` of the previous page. */
      after: z.string({ error: 'must be the `next` string of a previous page' }).min(1).max(4000).optional(),
    },
    { error: 'must be an object { kind, state?, where?, orderBy?, limit?, after? }' },
  )
  .strict();
/** A query as callers write it. */
export type ActorQueryInput = z.input<typeof ActorQuery>;
/** A query after validation and defaults. */
export type ParsedActorQuery = z.output<typeof ActorQuery>;

/** A query was refused; `issues` names each problem (`where[0].op: unknown operator "like"; …`). */
export class ReadQueryError extends Error {
  readonly code = 'invalid_query';
  constructor(readonly issues: string[]) {
    super(`invalid actor query: ${issues.join('; ')}`);
    this.name = 'ReadQueryError';
  }
}

function pathOf(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`;
  return out || 'query';
}

/** Validates a query and fills its defaults; throws `ReadQueryError` naming what was wrong. */
export function parseActorQuery(input: unknown): ParsedActorQuery {
  const r = ActorQuery.safeParse(input);
  if (r.success) return r.data;
  throw new ReadQueryError(
    r.error.issues.map((i) => {
      if (i.code === 'unrecognized_keys') return `${pathOf(i.path)}: unknown ${i.keys.length > 1 ? 'fields' : 'field'} ${i.keys.map((k) => JSON.stringify(k)).join(', ')}`;
      return `${pathOf(i.path)}: ${i.message}`;
    }),
  );
}

/** Conditions the domain helpers add that the public query language does not express. */
export interface InternalConditions {
  /** States excluded, exactly or with anything nested in them. */
  notStates?: string[];
  /** Leave out actors an operator stopped (they take no more messages). */
  excludeStopped?: boolean;
}

/** One statement and its parameters. */
export interface Statement {
  text: string;
  params: unknown[];
}

class Params {
  readonly values: unknown[] = [];
  add(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

/** A context field as jsonb (`json`, SQL NULL when missing) and as text (`text`, for strings). */
function fieldExpr(p: Params, field: string): { json: string; text: string } {
  const [a, b] = field.split('.') as [string, string | undefined];
  const pa = p.add(a);
  if (b === undefined) return { json: `(a.context -> ${pa}::text)`, text: `(a.context ->> ${pa}::text)` };
  const pb = p.add(b);
  return { json: `(a.context -> ${pa}::text -> ${pb}::text)`, text: `(a.context -> ${pa}::text ->> ${pb}::text)` };
}

const NULLISH = (json: string) => `(${json} IS NULL OR ${json} = 'null'::jsonb)`;
const CMP = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

/** The SQL condition of one `where` clause. A missing field and a JSON null are the same: no value. */
function whereSql(p: Params, w: WhereClause): string {
  const f = fieldExpr(p, w.field);
  switch (w.op) {
    case 'eq':
      return w.value === null ? NULLISH(f.json) : `coalesce(${f.json} = ${p.add(JSON.stringify(w.value))}::jsonb, false)`;
    case 'ne':
      return w.value === null ? `NOT ${NULLISH(f.json)}` : `NOT coalesce(${f.json} = ${p.add(JSON.stringify(w.value))}::jsonb, false)`;
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      // Numbers compare numerically (jsonb orders numbers by value); strings byte-wise as
      // text (COLLATE "C"), which orders ISO-8601 UTC times in time order. A value of the
      // other type never matches.
      return typeof w.value === 'number'
        ? `(jsonb_typeof(${f.json}) = 'number' AND ${f.json} ${CMP[w.op]} ${p.add(JSON.stringify(w.value))}::jsonb)`
        : `(jsonb_typeof(${f.json}) = 'string' AND ${f.text} COLLATE "C" ${CMP[w.op]} ${p.add(w.value)}::text)`;
    case 'in':
      return `coalesce(${f.json}, 'null'::jsonb) IN (SELECT jsonb_array_elements(${p.add(JSON.stringify(w.value))}::jsonb))`;
    case 'exists':
      return w.value ? `NOT ${NULLISH(f.json)}` : NULLISH(f.json);
    case 'contains':
      return `(jsonb_typeof(${f.json}) = 'string' AND strpos(lower(${f.text}), lower(${p.add(w.value)}::text)) > 0)`;
  }
}

/**
 * `state` is `s` or nested in it. The column joins parallel regions with `|`
 * (`open.stage.lead|followUp.idle`), so `s` matches when it starts the state or
 * one of its `|` parts and is followed by the end, `.` or `|` there: `open`,
 * `open.stage` and `followUp.idle` match that state; `ope` and `stage` do not.
 */
function stateTest(p: Params, state: string): string {
  const s = p.add(state);
  return `(strpos('|' || a.state || '|', '|' || ${s}::text || '|') > 0 OR strpos('|' || a.state, '|' || ${s}::text || '.') > 0)`;
}

/**
 * How rows are ordered: the sort expression (none for `key`), how the cursor keeps
 * its value as text (exactly, whatever the session's DateStyle), and how it is read back.
 */
interface Sort {
  expr: string;
  asText: string;
  fromText: (param: string) => string;
}
function sortOf(p: Params, orderBy: ParsedActorQuery['orderBy']): Sort | null {
  if (orderBy.field === 'key') return null;
  if (orderBy.field === 'updatedAt') {
    return { expr: 'a.updated_at', asText: `to_jsonb(a.updated_at) #>> '{}'`, fromText: (v) => `${v}::text::timestamptz` };
  }
  // Missing and null are one value, jsonb's lowest: first ascending, last descending.
  const expr = `coalesce(${fieldExpr(p, orderBy.field).json}, 'null'::jsonb)`;
  return { expr, asText: `${expr}::text`, fromText: (v) => `${v}::text::jsonb` };
}

/** What a cursor remembers: the query it belongs to, and the last row's sort value and key. */
interface Cursor {
  q: string;
  v: string | null;
  k: string;
}

/** A short fingerprint of everything but `limit` and `after`: a cursor is refused by another query. */
export function fingerprint(tenant: string, q: ParsedActorQuery, extra: InternalConditions = {}): string {
  const canon = JSON.stringify([tenant, q.kind, q.state ?? null, q.where, q.orderBy, extra.notStates ?? [], extra.excludeStopped ?? false]);
  return createHash('sha256').update(canon).digest('base64url').slice(0, 12);
}

/** The opaque `next` of a page. */
export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeCursor(after: string, fp: string): Cursor {
  let c: unknown;
  try {
    c = JSON.parse(Buffer.from(after, 'base64url').toString('utf8'));
  } catch {
    c = undefined;
  }
  const ok = (x: unknown): x is Cursor =>
    typeof x === 'object' && x !== null && typeof (x as Cursor).q === 'string' && typeof (x as Cursor).k === 'string' && ((x as Cursor).v === null || typeof (x as Cursor).v === 'string');
  if (!ok(c)) throw new ReadQueryError(['after: is not the `next` of a page']);
  if (c.q !== fp) throw new ReadQueryError(['after: belongs to a different query (kind, state, where or orderBy changed)']);
  return c;
}

/**
 * The statement of a query: the actors of `tenant` and `q.kind` matching it, in
 * its order (ties broken by key, in the same direction), `q.limit + 1` rows so the
 * caller knows whether there is a next page. Each row has `sort_value`, the sort
 * expression as text, for the cursor.
 */
export function buildSelect(tenant: string, q: ParsedActorQuery, extra: InternalConditions = {}): Statement & { fingerprint: string } {
  const p = new Params();
  const conds = [`a.tenant = ${p.add(tenant)}::text`, `a.kind = ${p.add(q.kind)}::text`];
  conds.push(...conditions(p, q, extra));
  const sort = sortOf(p, q.orderBy);
  const dir = q.orderBy.dir === 'desc' ? 'DESC' : 'ASC';
  const fp = fingerprint(tenant, q, extra);
  if (q.after !== undefined) {
    const c = decodeCursor(q.after, fp);
    const cmp = dir === 'DESC' ? '<' : '>';
    if (sort === null) conds.push(`a.key ${cmp} ${p.add(c.k)}::text`);
    else {
      if (c.v === null) throw new ReadQueryError(['after: is not the `next` of a page']);
      conds.push(`(${sort.expr}, a.key) ${cmp} (${sort.fromText(p.add(c.v))}, ${p.add(c.k)}::text)`);
    }
  }
  const order = sort === null ? `a.key ${dir}` : `${sort.expr} ${dir}, a.key ${dir}`;
  const text =
    `SELECT a.kind, a.key, a.state, a.status, a.context, a.updated_at, ${sort === null ? 'NULL' : sort.asText} AS sort_value` +
    ` FROM actors a WHERE ${conds.join(' AND ')} ORDER BY ${order} LIMIT ${p.add(q.limit + 1)}::int8`;
  return { text, params: p.values, fingerprint: fp };
}

/** `SELECT EXISTS` of the same conditions, without order: the cheapest yes/no. */
export function buildExists(tenant: string, q: ParsedActorQuery, extra: InternalConditions = {}): Statement {
  const p = new Params();
  const conds = [`a.tenant = ${p.add(tenant)}::text`, `a.kind = ${p.add(q.kind)}::text`, ...conditions(p, q, extra)];
  return { text: `SELECT EXISTS (SELECT 1 FROM actors a WHERE ${conds.join(' AND ')}) AS found`, params: p.values };
}

/** The sum of a numeric context field over the matching actors (non-numbers count as nothing). */
export function buildSum(tenant: string, q: ParsedActorQuery, field: string, extra: InternalConditions = {}): Statement {
  const p = new Params();
  const conds = [`a.tenant = ${p.add(tenant)}::text`, `a.kind = ${p.add(q.kind)}::text`, ...conditions(p, q, extra)];
  const f = fieldExpr(p, field);
  return {
    text: `SELECT coalesce(sum(CASE WHEN jsonb_typeof(${f.json}) = 'number' THEN ${f.text}::numeric END), 0)::text AS total FROM actors a WHERE ${conds.join(' AND ')}`,
    params: p.values,
  };
}

function conditions(p: Params, q: ParsedActorQuery, extra: InternalConditions): string[] {
  const out: string[] = [];
  if (q.state !== undefined) out.push(stateTest(p, q.state));
  for (const s of extra.notStates ?? []) out.push(`NOT ${stateTest(p, s)}`);
  if (extra.excludeStopped) out.push(`a.status <> 'stopped'`);
  for (const w of q.where) out.push(whereSql(p, w));
  return out;
}
