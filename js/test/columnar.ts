// The kernel's columnar encoding of get-run (datatailr_jupyter/explorer/columns.py) for the fake kernel of the
// tests: fixtures are written as records, and the fake sends them as the real kernel does.
import type { Column, RunDetailWire } from "../columns";
import type { RunSummary } from "../types";

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Same rules as encode_column: lists flattened, records split into fields, one value for all rows, consecutive
 * whole numbers by their start, repeated values sent once. */
export function encodeColumn(values: unknown[], ranges = true): Column {
  if (values.length && values.every((v) => Array.isArray(v))) {
    const lists = values as unknown[][];
    return { lists: encodeColumn(lists.flat()), lengths: encodeColumn(lists.map((v) => v.length), false) };
  }
  if (values.some((v) => isRecord(v)) && values.every((v) => v === null || isRecord(v))) {
    const rows = values.flatMap((v, i) => (v === null ? [] : [i]));
    const present = rows.map((i) => values[i] as Record<string, unknown>);
    const names = [...new Set(present.flatMap((r) => Object.keys(r)))];
    if (present.every((r) => Object.keys(r).join() === names.join())) {
      const fields = Object.fromEntries(names.map((f) => [f, encodeColumn(present.map((r) => r[f]))]));
      return rows.length === values.length ? { fields } : { rows, fields };
    }
  }
  const first = values[0];
  if (ranges && values.length >= 2 && values.every((v, i) => Number.isInteger(v) && v === (first as number) + i)) {
    return { from: first as number };
  }
  const index = new Map<string, number>();
  const dict: unknown[] = [];
  const codes: number[] = [];
  for (const v of values) {
    const key = `${typeof v}:${JSON.stringify(v)}`;
    let code = index.get(key);
    if (code === undefined) {
      if (dict.length >= Math.floor(values.length / 2)) return values;
      index.set(key, (code = dict.length));
      dict.push(v);
    }
    codes.push(code);
  }
  if (dict.length === 1 && values.length >= 2) return { same: dict[0] };
  return values.length ? { dict, codes } : [];
}

/** A record-form get-run answer ({run, tasks}) as the kernel sends it. */
export function toWire(answer: { run: unknown; tasks: Record<string, unknown>[] }): RunDetailWire {
  const names = [...new Set(answer.tasks.flatMap((t) => Object.keys(t)))];
  const columns = Object.fromEntries(names.map((f) => [f, encodeColumn(answer.tasks.map((t) => t[f] ?? null))]));
  return { run: answer.run as RunSummary, n_tasks: answer.tasks.length, columns };
}

/** A message from the fake kernel with every record-form get-run answer in it put in columns. */
export function wireMessage(msg: unknown): unknown {
  if (!isRecord(msg)) return msg;
  const columnar = (a: unknown): unknown =>
    isRecord(a) && Array.isArray(a.tasks) ? toWire(a as { run: unknown; tasks: Record<string, unknown>[] }) : a;
  if (msg.kind === "get-run-response" && "payload" in msg) return { ...msg, payload: columnar(msg.payload) };
  if (msg.kind === "live" && Array.isArray(msg.answers)) {
    return {
      ...msg,
      answers: msg.answers.map((a: unknown) => (isRecord(a) && a.kind === "get-run" ? { ...a, answer: columnar(a.answer) } : a)),
    };
  }
  return msg;
}
