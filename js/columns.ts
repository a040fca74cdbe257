// Decoding of get-run's columnar tasks (docs/protocol.md, datatailr_jupyter/explorer/columns.py) into the
// one-record-per-task RunDetail the DAG, task panel and run table use.
import type { RunDetail, RunSummary, TaskRun } from "./types";

/** One field of every row: plain values, one value for all rows, consecutive whole numbers, dictionary-coded,
 * lists flattened, or records present in some rows (in every row when `rows` is left out). */
export type Column =
  | unknown[]
  | { same: unknown }
  | { from: number }
  | { dict: unknown[]; codes: number[] }
  | { lists: Column; lengths: Column }
  | { rows?: number[]; fields: Record<string, Column> };

/** get-run as the kernel sends it. */
export interface RunDetailWire {
  run: RunSummary;
  n_tasks: number;
  columns: Record<string, Column>;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function numbers(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === "number")) throw new Error(`${what} must be an array of numbers`);
  return v as number[];
}

/** The `n` values of a column; throws an Error saying what is malformed. */
export function decodeColumn(column: unknown, n: number): unknown[] {
  if (Array.isArray(column)) {
    if (column.length !== n) throw new Error(`a column has ${column.length} values for ${n} rows`);
    return column;
  }
  if (!isRecord(column)) throw new Error(`a column must be an array or an object, not ${typeof column}`);
  if ("same" in column) return new Array<unknown>(n).fill(column.same);
  if ("from" in column) {
    const first = column.from;
    if (typeof first !== "number" || !Number.isInteger(first)) throw new Error("a 'from' column must start at a whole number");
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = first + i;
    return out;
  }
  if ("codes" in column) {
    const dict = column.dict;
    if (!Array.isArray(dict)) throw new Error("a dictionary column lacks its values");
    const codes = numbers(column.codes, "a dictionary column's codes");
    if (codes.length !== n) throw new Error(`a column has ${codes.length} values for ${n} rows`);
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) {
      const c = codes[i];
      if (c < 0 || c >= dict.length) throw new Error(`a dictionary code ${c} is out of range`);
      out[i] = dict[c];
    }
    return out;
  }
  if ("lengths" in column) {
    const lengths = numbers(decodeColumn(column.lengths, n), "a list column's lengths");
    let total = 0;
    for (const len of lengths) total += len;
    const items = decodeColumn(column.lists, total);
    const out = new Array<unknown>(n);
    let at = 0;
    for (let i = 0; i < n; i++) {
      out[i] = items.slice(at, at + lengths[i]);
      at += lengths[i];
    }
    return out;
  }
  if ("fields" in column) {
    const rows = "rows" in column ? numbers(column.rows, "a record column's rows") : Array.from({ length: n }, (_, i) => i);
    if (!isRecord(column.fields)) throw new Error("a record column lacks its fields");
    const fields = Object.entries(column.fields).map(([name, c]) => [name, decodeColumn(c, rows.length)] as const);
    const out = new Array<unknown>(n).fill(null);
    rows.forEach((row, j) => {
      if (row < 0 || row >= n) throw new Error(`a record column's row ${row} is out of range`);
      const rec: Record<string, unknown> = {};
      for (const [name, values] of fields) rec[name] = values[j];
      out[row] = rec;
    });
    return out;
  }
  throw new Error(`unknown column form with keys ${Object.keys(column).sort().join(", ")}`);
}

/** The `n` records the columns were made from, fields in the columns' order. */
export function decodeColumns(n: number, columns: Record<string, unknown>): Record<string, unknown>[] {
  const names = Object.keys(columns);
  const values = names.map((name) => decodeColumn(columns[name], n));
  const out = new Array<Record<string, unknown>>(n);
  for (let i = 0; i < n; i++) {
    const rec: Record<string, unknown> = {};
    for (let c = 0; c < names.length; c++) rec[names[c]] = values[c][i];
    out[i] = rec;
  }
  return out;
}

/** A get-run answer as the RunDetail the parts use; throws when it is not a columnar answer. */
export function decodeRunDetail(wire: Record<string, unknown>): RunDetail {
  const n = wire.n_tasks;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0) throw new Error("n_tasks must be a whole number");
  if (!isRecord(wire.columns)) throw new Error("columns must be an object");
  const tasks = decodeColumns(n, wire.columns) as unknown as TaskRun[];
  return { run: wire.run as RunSummary, tasks };
}
