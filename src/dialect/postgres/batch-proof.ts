import { sql, type Transaction } from 'kysely';
import { SchemaDiffError } from '../../errors.js';
import { CONJUNCTS_CHECK, conjunctTrees, topLevelNodes, varattnos } from './conjuncts.js';
import { mutableCallsOf } from './probe-check.js';
import type { ScratchProbe } from './scratch-tables.js';

/*
 * What the database shows of a normalization batch, checked before anything
 * is read back from it: that it made exactly its probes (proveBatch), and that
 * no probe on a shared scratch table used another table's column (borrowsColumns).
 */

/** A probe CHECK as stored: its expression tree, and the column numbers it uses (0: the whole row; below 0: a system column). */
export interface CheckTree {
  readonly tree: string;
  readonly attnums: readonly number[];
}

/**
 * The stored tree of every probe CHECK of the batch, by `scratch.probe`: a
 * CHECK of its own (conkey gives its columns), or a conjunct of the one CHECK
 * of a shared scratch table (conjuncts.ts; the Vars of its tree give them).
 * null when a CHECK of conjuncts does not hold one argument per probe, in order.
 */
export async function checkTrees(trx: Transaction<unknown>, scratches: readonly ScratchProbe[]): Promise<Map<string, CheckTree> | null> {
  const { rows } = await sql<{ scratch: string; name: string; tree: string | null; attnums: number[] }>`
    select c.relname as scratch, con.conname as name, con.conbin::text as tree, coalesce(con.conkey::int[], '{}') as attnums
      from pg_constraint con join pg_class c on c.oid = con.conrelid
     where c.relnamespace = pg_my_temp_schema() and c.relname = any(${scratches.map((x) => x.scratch)}::text[]) and con.contype = 'c'`.execute(trx);
  const byName = new Map(scratches.map((x) => [x.scratch, x]));
  const trees = new Map<string, CheckTree>();
  for (const r of rows) {
    const scratch = byName.get(r.scratch) as ScratchProbe;
    if (!scratch.conjuncts) {
      trees.set(`${r.scratch}.${r.name}`, { tree: r.tree ?? '', attnums: r.attnums });
      continue;
    }
    // the one CHECK (proveBatch refuses any other name): one argument per probe, in the order the probes were written
    const args = r.name === CONJUNCTS_CHECK ? conjunctTrees(r.tree ?? '') : null;
    const probes = [...scratch.checks.values()];
    if (!args || args.length !== probes.length) return null;
    probes.forEach((p, i) => trees.set(`${r.scratch}.${p.name}`, { tree: args[i], attnums: [...new Set(varattnos(args[i]))] }));
  }
  return trees;
}

/**
 * Whether a probe on a shared scratch table used a column that one of the
 * tables asking for it lacks, or the whole row (which is not its table's):
 * read from the database, the columns a CHECK uses (checkTrees) and an index
 * uses (indkey, and the Vars of its expressions and predicate); for an index
 * parsed as keys of a shared one, the keys of its slice.
 */
export async function borrowsColumns(trx: Transaction<unknown>, scratches: readonly ScratchProbe[], checks: ReadonlyMap<string, CheckTree>): Promise<boolean> {
  // a scratch of one shape without shared keys parses as the table would: nothing to check
  const shared = scratches.filter((s) => s.shapes.size > 1 || s.shared.length > 0);
  if (shared.length === 0) return false;
  const names = shared.map((s) => s.scratch);
  const { rows } = await sql<{ scratch: string; probe: string; attnums: number[]; exprs: string | null; pred: string | null }>`
    select c.relname as scratch, ic.relname as probe, i.indkey::int2[]::int[] as attnums, i.indexprs::text as exprs, i.indpred::text as pred
      from pg_index i join pg_class ic on ic.oid = i.indexrelid join pg_class c on c.oid = i.indrelid
     where c.relnamespace = pg_my_temp_schema() and c.relname = any(${names}::text[])`.execute(trx);
  const { rows: attributes } = await sql<{ scratch: string; attnum: number; name: string }>`
    select c.relname as scratch, a.attnum::int as attnum, a.attname as name
      from pg_attribute a join pg_class c on c.oid = a.attrelid
     where c.relnamespace = pg_my_temp_schema() and c.relname = any(${names}::text[]) and a.attnum > 0`.execute(trx);
  const nameOf = new Map(attributes.map((a) => [`${a.scratch}.${a.attnum}`, a.name]));
  const byName = new Map(shared.map((s) => [s.scratch, s]));
  // every probe's used columns, as names, against the columns of each shape that asked for it
  const outside = (scratch: ScratchProbe, shapes: Iterable<string>, attnums: readonly number[]) =>
    attnums.some((n) => n <= 0) ||
    [...shapes].some((shape) => attnums.some((n) => !(scratch.shapes.get(shape) as ReadonlySet<string>).has(nameOf.get(`${scratch.scratch}.${n}`) ?? '')));
  for (const scratch of shared) {
    for (const probe of scratch.checks.values()) {
      const stored = checks.get(`${scratch.scratch}.${probe.name}`);
      if (!stored || outside(scratch, probe.shapes, stored.attnums)) return true;
    }
  }
  for (const r of rows) {
    const scratch = byName.get(r.scratch) as ScratchProbe;
    const exprs = topLevelNodes(r.exprs ?? '');
    const keyColumns = (from: number, count: number) =>
      r.attnums.slice(from, from + count).flatMap((n, k) => (n !== 0 ? [n] : varattnos(exprs[r.attnums.slice(0, from + k).filter((x) => x === 0).length] ?? '')));
    const alone = [...scratch.indexes.values()].find((p) => p.name === r.probe && !p.within);
    if (alone) {
      if (outside(scratch, alone.shapes, [...keyColumns(0, r.attnums.length), ...varattnos(r.pred ?? '')])) return true;
      continue;
    }
    const members = [...scratch.indexes.values()].filter((p) => p.within?.index === r.probe);
    if (members.length === 0) return true;
    for (const m of members) if (outside(scratch, m.shapes, keyColumns(m.within?.offset ?? 0, m.index.source.keys.length))) return true;
  }
  return false;
}

/**
 * Proof, by the database itself, that the batch made exactly its probes and
 * nothing else (the batched form of probe-check.ts, whose reasons hold here):
 * each scratch table has exactly the columns it was defined with (names and
 * catalog signatures, as read from the live tables), exactly the probe CHECKs
 * and probe indexes by name, no trigger, rule or policy, no column default,
 * identity, generated expression or storage of its own, no table
 * option (what a scratch table may hold besides its probes); and no probe calls a
 * function or operator that is not IMMUTABLE. Anything else fails the batch,
 * and the one-at-a-time probes (each with its own proof) then name the
 * manifest entry.
 */
export async function proveBatch(trx: Transaction<unknown>, scratches: readonly ScratchProbe[], checks: ReadonlyMap<string, CheckTree>): Promise<void> {
  const { rows } = await sql<{ scratch: string; columns: string | null; cons: string[]; idx: string[]; extra: number }>`
    select s.relname as scratch,
           (select string_agg(attname || ' ' || concat_ws(' ', atttypid, atttypmod, attcollation, attnotnull), ',' order by attnum)
              from pg_attribute where attrelid = s.oid and attnum > 0 and not attisdropped) as columns,
           -- NOT NULL (contype n, PostgreSQL 17 and PGlite) is part of the columns above
           array(select conname::text from pg_constraint where conrelid = s.oid and contype <> 'n' order by 1) as cons,
           array(select ic.relname::text from pg_index i join pg_class ic on ic.oid = i.indexrelid where i.indrelid = s.oid order by 1) as idx,
           ((select count(*) from pg_trigger where tgrelid = s.oid) + (select count(*) from pg_rewrite where ev_class = s.oid)
             + (select count(*) from pg_policy where polrelid = s.oid)
             -- what a column definition may carry besides its type: none of it is ours (probe-check.ts compares it too);
             -- not attoptions, which a server may set on every new column itself (this project's sets pg_attver)
             + (select count(*) from pg_attribute a left join pg_type t on t.oid = a.atttypid
                 where a.attrelid = s.oid and a.attnum > 0
                   and (a.attisdropped or a.atthasdef or a.attidentity <> '' or a.attgenerated <> ''
                        or a.attstorage <> coalesce(t.typstorage, a.attstorage)))
             + (case when s.reloptions is null then 0 else 1 end))::int as extra
      from pg_class s
     where s.relnamespace = pg_my_temp_schema() and s.relname = any(${scratches.map((x) => x.scratch)}::text[])`.execute(trx);
  const sorted = (xs: Iterable<string>) => JSON.stringify([...xs].sort());
  const wrong = scratches.length !== rows.length || rows.some((r) => {
    const scratch = scratches.find((x) => x.scratch === r.scratch) as ScratchProbe;
    const expectedColumns = [...scratch.columns].map(([name, c]) => `${name} ${c.signature}`).join(',');
    // a shared scratch table holds its CHECKs as the conjuncts of one (conjuncts.ts)
    const probeNames = [...scratch.checks.values()].map((c) => c.name);
    const expectedChecks = scratch.conjuncts ? (probeNames.length ? [CONJUNCTS_CHECK] : []) : probeNames;
    const expectedIndexes = [...[...scratch.indexes.values()].filter((i) => !i.within).map((i) => i.name), ...scratch.shared.map((k) => k.name)];
    return r.columns !== expectedColumns || r.extra !== 0 || sorted(r.cons) !== sorted(expectedChecks) || sorted(r.idx) !== sorted(expectedIndexes);
  });
  if (wrong) throw new SchemaDiffError('manifest', 'manifest: an expression did more than define its one constraint or index');
  const { rows: indexTrees } = await sql<{ label: string; tree: string | null }>`
    select ic.relname as label, concat_ws(' ', i.indexprs::text, i.indpred::text) as tree
      from pg_index i join pg_class ic on ic.oid = i.indexrelid join pg_class c on c.oid = i.indrelid
     where c.relnamespace = pg_my_temp_schema() and c.relname = any(${scratches.map((x) => x.scratch)}::text[])`.execute(trx);
  const trees = [...[...checks].map(([label, c]) => ({ label, tree: c.tree })), ...indexTrees.map((t) => ({ label: t.label, tree: t.tree ?? '' }))];
  const mutable = await mutableCallsOf(trx, trees);
  if (mutable.size > 0) throw new SchemaDiffError('manifest', 'manifest: an expression calls a function that is not IMMUTABLE');
}
