// One VNI's MAC table as an hNVE holds it: the rows, the joining VTEPs and the revision they are at.
// Numbered entries are applied strictly in order: an entry at or below the revision is stale (already
// applied: dropped), one above revision+1 waits in a buffer until the gap is filled — by a late
// NOTIFY, or by the full state the agent asks for when the gap stays open (hnve-agent.ts).
import { z } from 'zod';
import { NvoError } from '../../errors.ts';
import { ip, unicastMac as macAddr } from '../../model/fields.ts';
import { issuesOf } from '../../model/validate.ts';

const vtep = ip;
const rev = z.number().int('must be a whole number').min(0);
const row = z.strictObject({ mac: macAddr, vtep });
export const entrySchema = z.strictObject({ revision: rev.min(1), added: z.array(row), removed: z.array(row), floodsAdded: z.array(vtep), floodsRemoved: z.array(vtep) });
export const macTableNotify = z.strictObject({ event: z.literal('mac-table'), cid: z.string().min(1), vni: z.number().int().min(1).max(16_777_215).nullable(), base: rev, revision: rev, entries: z.array(entrySchema) });
export const fullTable = z.strictObject({ revision: rev, table: z.array(row), floods: z.array(vtep) });

export type Entry = z.output<typeof entrySchema>;
export type MacTableNotify = z.output<typeof macTableNotify>;

/** Parses what a proxy pushed, or throws an NvoError naming the field; contradictions are refused too. */
export function parsePush<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const r = schema.safeParse(input);
  if (!r.success) {
    const issues = issuesOf(r.error);
    throw new NvoError('invalid-input', `${what}: ${issues[0]!.field}: ${issues[0]!.reason}`, issues);
  }
  return r.data;
}

export function checkEntries(entries: readonly Entry[], base: number, revision: number): void {
  const fail = (field: string, reason: string) => {
    throw new NvoError('invalid-input', `mac-table: ${field}: ${reason}`, [{ field, reason }]);
  };
  entries.forEach((e, i) => {
    if (e.revision !== base + i + 1) fail(`entries[${i}].revision`, `must be ${base + i + 1} (entries follow base ${base} one by one)`);
    const seen = new Map<string, string>();
    e.added.forEach((r, j) => {
      if (seen.has(r.mac) && seen.get(r.mac) !== r.vtep) fail(`entries[${i}].added[${j}]`, `${r.mac} is added behind two VTEPs (${seen.get(r.mac)} and ${r.vtep})`);
      seen.set(r.mac, r.vtep);
      if (e.removed.some((x) => x.mac === r.mac)) fail(`entries[${i}].added[${j}]`, `${r.mac} is both added and removed in one entry`);
    });
    for (const v of e.floodsAdded) if (e.floodsRemoved.includes(v)) fail(`entries[${i}].floodsAdded`, `${v} both joins and leaves`);
  });
  const last = entries.length ? entries[entries.length - 1]!.revision : base;
  if (last !== revision) fail('revision', `must be ${last}, the last entry's`);
}

export class VniTable {
  revision = 0;
  /** false until a full table or a delta from a known revision arrived. */
  synced = false;
  readonly rows = new Map<string, string>();
  readonly floods = new Set<string>();
  private readonly pending = new Map<number, Entry>();

  constructor(
    readonly cid: string,
    public vni: number,
  ) {}

  loadFull(t: z.output<typeof fullTable>): void {
    this.rows.clear();
    this.floods.clear();
    for (const r of t.table) this.rows.set(r.mac, r.vtep);
    for (const v of t.floods) this.floods.add(v);
    this.revision = t.revision;
    this.synced = true;
    this.drain();
    this.settle();
  }

  /** After the proxy's own word (state), what still waits cannot connect to it: drop it. A real
   *  entry dropped here shows up again as a gap at the next NOTIFY and is repaired the same way;
   *  a bogus one no longer makes the agent ask for the state again and again. */
  settle(): void {
    this.pending.clear();
  }

  /** Takes entries (any order, duplicates fine); returns whether anything new was applied. */
  offer(entries: readonly Entry[]): boolean {
    for (const e of entries) if (e.revision > this.revision) this.pending.set(e.revision, e);
    return this.synced ? this.drain() : false;
  }

  /** Is there an entry waiting for a missing one? */
  get gap(): boolean {
    return this.pending.size > 0;
  }

  private drain(): boolean {
    let changed = false;
    for (let e = this.pending.get(this.revision + 1); e; e = this.pending.get(this.revision + 1)) {
      this.pending.delete(e.revision);
      for (const r of e.removed) this.rows.delete(r.mac);
      for (const r of e.added) this.rows.set(r.mac, r.vtep);
      for (const v of e.floodsRemoved) this.floods.delete(v);
      for (const v of e.floodsAdded) this.floods.add(v);
      this.revision = e.revision;
      changed = true;
    }
    return changed;
  }

  table(): { mac: string; vtep: string }[] {
    return [...this.rows].map(([mac, vtep]) => ({ mac, vtep })).sort((a, b) => (a.mac < b.mac ? -1 : 1));
  }
}
