// Task arguments as a version's definition records them (engine/definition.py describe_value): literals as
// JSON values, another task's output as {"task": id}.
import { DASH } from "./format";
import type { TaskRun } from "./types";

/** A value of a definition as short text (objects as compact JSON). */
export function valueText(v: unknown): string {
  if (v === null || v === undefined) return DASH;
  if (typeof v === "string") return v;
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

/** A recorded argument that is another task's output: `{"task": id}` (engine/definition.py describe_value). */
export function upstreamOf(arg: unknown): number | null {
  if (arg && typeof arg === "object" && !Array.isArray(arg)) {
    const keys = Object.keys(arg);
    const id = (arg as { task?: unknown }).task;
    if (keys.length === 1 && typeof id === "number") return id;
  }
  return null;
}

/** One argument of a task as text: an upstream task by name, anything else (a literal) as recorded. */
export function argumentText(arg: unknown, names: Map<number, string>): string {
  const up = upstreamOf(arg);
  if (up !== null) return `← output of ${names.get(up) ?? `task #${up}`}`;
  return valueText(arg);
}

/** The literal arguments of a task as [name, value text] (upstream outputs left out). */
export function literalArguments(t: TaskRun): [string, string][] {
  return Object.entries(t.arguments ?? {})
    .filter(([, v]) => upstreamOf(v) === null)
    .map(([name, v]) => [name, valueText(v)]);
}
