import { sql, type Kysely } from 'kysely';

/**
 * Proof, by the database itself, that a normalization probe did what it says
 * and nothing else. A probe splices manifest text into
 * `ALTER TABLE pg_temp.x ADD CONSTRAINT probe CHECK (…)` or `CREATE INDEX probe
 * ON pg_temp.x …`; the lexer (expr-columns.ts) already proved the text one
 * expression, but a lexer that disagrees with PostgreSQL's on one character
 * would let `…) , DROP COLUMN secret , ADD CHECK (…` through, and apply renders
 * the same text into the real table. So after each probe the temporary table
 * must have gained exactly the one object of the probe's name, with every
 * column, default, other constraint, index, trigger and table option as
 * before; and that object may call only IMMUTABLE functions and operators,
 * so that nothing it calls can read files, see other roles' data or
 * end sessions when `validate` or apply's check evaluates it on real rows.
 */
export type ProbeProof = () => Promise<string | null>;

export type Probe = { readonly constraint: string } | { readonly index: string };

/** Reads the table's shape before the probe; the returned function checks it after, giving the problem or null. */
export async function probeProof(db: Kysely<unknown>, tableOid: number, probe: Probe): Promise<ProbeProof> {
  const before = await shapeOf(db, tableOid, probe);
  return async () => {
    const made = await probeObject(db, tableOid, probe);
    if (made.length !== 1) return `is not one ${'constraint' in probe ? 'CHECK constraint' : 'index'}: it made ${made.length}`;
    if ((await shapeOf(db, tableOid, probe)) !== before) {
      return `is not one ${'constraint' in probe ? 'CHECK expression' : 'index definition'}: it also changed other parts of the table`;
    }
    const mutable = await notImmutable(db, made[0]);
    if (mutable) {
      return `calls ${mutable.what}, which is ${VOLATILITY[mutable.volatility] ?? mutable.volatility}: only IMMUTABLE functions and operators may appear here`;
    }
    return null;
  };
}

export const VOLATILITY: Record<string, string> = { s: 'STABLE', v: 'VOLATILE' };

interface Made {
  readonly classid: string;
  readonly objid: number;
}

async function probeObject(db: Kysely<unknown>, tableOid: number, probe: Probe): Promise<Made[]> {
  if ('constraint' in probe) {
    const { rows } = await sql<{ oid: number }>`
      select oid::int8 as oid from pg_constraint where conrelid = ${tableOid} and conname = ${probe.constraint} and contype = 'c'`.execute(db);
    return rows.map((r) => ({ classid: 'pg_constraint', objid: r.oid }));
  }
  const { rows } = await sql<{ oid: number }>`
    select i.indexrelid::int8 as oid from pg_index i join pg_class c on c.oid = i.indexrelid
     where i.indrelid = ${tableOid} and c.relname = ${probe.index}`.execute(db);
  return rows.map((r) => ({ classid: 'pg_class', objid: r.oid }));
}

/**
 * Everything an ALTER TABLE subcommand or a second index could change, as one
 * text: the table's own options, its columns (type, nullability, default,
 * identity, storage …), its constraints and indexes other than the probe's,
 * triggers, rules, policies and parents.
 */
async function shapeOf(db: Kysely<unknown>, tableOid: number, probe: Probe): Promise<string> {
  const constraint = 'constraint' in probe ? probe.constraint : '';
  const index = 'index' in probe ? probe.index : '';
  const { rows } = await sql<{ shape: string }>`
    select concat_ws(E'\n',
      (select concat_ws(' ', relname, relowner, reltablespace, relfilenode, relpersistence, relkind, relrowsecurity,
                        relforcerowsecurity, relreplident, reloptions::text, reloftype, relispartition, relhasrules)
         from pg_class where oid = ${tableOid}),
      (select string_agg(concat_ws(' ', a.attnum, quote_ident(a.attname), a.atttypid, a.atttypmod, a.attnotnull, a.attisdropped,
                                   a.attidentity, a.attgenerated, a.attcollation, a.attstorage, a.attoptions::text,
                                   pg_get_expr(d.adbin, d.adrelid)), E'\n' order by a.attnum)
         from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
        where a.attrelid = ${tableOid} and a.attnum > 0),
      (select string_agg(concat_ws(' ', quote_ident(conname), contype, convalidated, condeferrable, condeferred, connoinherit,
                                   pg_get_constraintdef(oid)), E'\n' order by conname)
         from pg_constraint where conrelid = ${tableOid} and conname <> ${constraint}),
      (select string_agg(concat_ws(' ', pg_get_indexdef(i.indexrelid), i.indisclustered, i.indisreplident), E'\n' order by c.relname)
         from pg_index i join pg_class c on c.oid = i.indexrelid where i.indrelid = ${tableOid} and c.relname <> ${index}),
      (select string_agg(tgname || ' ' || tgenabled::text, E'\n' order by tgname) from pg_trigger where tgrelid = ${tableOid}),
      (select string_agg(inhparent::text, ' ' order by inhseqno) from pg_inherits where inhrelid = ${tableOid}),
      'policies ' || (select count(*) from pg_policy where polrelid = ${tableOid}),
      'rules ' || (select count(*) from pg_rewrite where ev_class = ${tableOid})
    ) as shape`.execute(db);
  return rows[0].shape;
}

/**
 * The first function or operator the object's expressions call that is not
 * IMMUTABLE. Read from the stored expression trees (conbin; indexprs and
 * indpred), where every call names its function (`:funcid`) or operator
 * (`:opno`, `:opnos`): pg_depend would not do, as PostgreSQL records no
 * dependency on its built-in functions (pg_read_file, pg_terminate_backend).
 * A tree holds no text of the manifest (constants are bytes), only node fields.
 * SQL value functions (CURRENT_DATE, CURRENT_USER …) name no function and are
 * all STABLE.
 */
async function notImmutable(db: Kysely<unknown>, made: Made): Promise<{ what: string; volatility: string } | null> {
  const { rows: trees } = await (made.classid === 'pg_constraint'
    ? sql<{ tree: string | null }>`select conbin::text as tree from pg_constraint where oid = ${made.objid}`
    : sql<{ tree: string | null }>`select concat_ws(' ', indexprs::text, indpred::text) as tree from pg_index where indexrelid = ${made.objid}`
  ).execute(db);
  const found = await mutableCallsOf(db, [{ label: 'probe', tree: trees[0]?.tree ?? '' }]);
  return found.get('probe') ?? null;
}

/** An expression tree as PostgreSQL stores it (conbin, indexprs, indpred), under a label of the caller's. */
export interface CallTree {
  readonly label: string;
  readonly tree: string;
}

export type MutableCall = { readonly what: string; readonly volatility: string };

/**
 * The first call that is not IMMUTABLE in each of many trees, by label, in one
 * catalog query whatever their number (batched normalization proves a whole
 * manifest at once).
 */
export async function mutableCallsOf(db: Kysely<unknown>, trees: readonly CallTree[]): Promise<Map<string, MutableCall>> {
  const found = new Map<string, MutableCall>();
  const calls = trees.map((t) => ({ label: t.label, ...callsIn(t.tree) }));
  for (const c of calls) if (c.valueFunction) found.set(c.label, { what: 'an SQL value function (CURRENT_DATE, CURRENT_USER …)', volatility: 's' });
  const functions = [...new Set(calls.flatMap((c) => c.functions))];
  const operators = [...new Set(calls.flatMap((c) => c.operators))];
  if (functions.length === 0 && operators.length === 0) return found;
  const { rows } = await sql<{ kind: string; id: number; what: string; volatility: string }>`
    select 'f' as kind, p.oid::int8 as id, p.oid::regprocedure::text as what, p.provolatile::text as volatility
      from pg_proc p where p.oid = any(${functions}::oid[]) and p.provolatile <> 'i'
    union all
    select 'o', o.oid::int8, 'operator ' || o.oid::regoperator::text || ' (' || p.oid::regprocedure::text || ')', p.provolatile::text
      from pg_operator o join pg_proc p on p.oid = o.oprcode
     where o.oid = any(${operators}::oid[]) and p.provolatile <> 'i'`.execute(db);
  const bad = new Map(rows.map((r) => [`${r.kind}${Number(r.id)}`, r]));
  for (const c of calls) {
    if (found.has(c.label)) continue;
    // VOLATILE first: that is the one worth naming
    const hits = [...c.functions.map((id) => bad.get(`f${id}`)), ...c.operators.map((id) => bad.get(`o${id}`))]
      .filter((r): r is (typeof rows)[number] => r !== undefined)
      .sort((a, b) => b.volatility.localeCompare(a.volatility));
    if (hits[0]) found.set(c.label, { what: hits[0].what, volatility: hits[0].volatility });
  }
  return found;
}

/** The functions and operators a stored tree calls (`:funcid`, `:opno`, `:opnos`), and whether it uses an SQL value function. */
function callsIn(tree: string): { functions: number[]; operators: number[]; valueFunction: boolean } {
  const ids = (pattern: RegExp) => [...tree.matchAll(pattern)].flatMap((m) => m[1].trim().split(/\s+/)).map(Number).filter((n) => n > 0);
  return {
    functions: ids(/:funcid (\d+)/g),
    operators: [...ids(/:opno (\d+)/g), ...ids(/:opnos \(o ([\d ]+)\)/g)],
    valueFunction: /\{(SQLVALUEFUNCTION|NEXTVALUEEXPR)\b/.test(tree),
  };
}
