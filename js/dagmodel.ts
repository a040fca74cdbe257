// The DAG as the renderers see it: tasks by index, edges, the layout, what is highlighted, and node texts.
import { elapsed, formatDuration, isActive, stateLabel } from "./format";
import type { LayoutInput, LayoutResult } from "./layout";
import type { PlanAction, TaskRun } from "./types";
import type { Transform } from "./viewport";

export const NODE_W = 160;
export const NODE_H = 38;
/** Above this many tasks the DAG is drawn on a canvas instead of SVG. */
export const SVG_MAX_NODES = 1500;

export interface Graph {
  tasks: TaskRun[];
  /** task id -> index in `tasks` */
  index: Map<number, number>;
  /** flat [from, to, ...] task indices (dependency -> dependent) */
  edges: number[];
  layout: LayoutResult;
}

export interface Decor {
  selected: number;
  matches: Set<number>;
  current: number;
  plan: Map<number, PlanAction> | null;
}

export interface Renderer {
  readonly el: Element;
  readonly kind: "svg" | "canvas";
  draw(graph: Graph, decor: Decor): void;
  restyle(graph: Graph, decor: Decor): void;
  transform(t: Transform): void;
  /** Index of the node under a click, or -1. */
  nodeAt(ev: MouseEvent): number;
  dispose(): void;
}

export function emptyDecor(): Decor {
  return { selected: -1, matches: new Set(), current: -1, plan: null };
}

export function layoutInput(tasks: TaskRun[]): { input: LayoutInput; index: Map<number, number> } {
  const index = new Map<number, number>();
  tasks.forEach((t, i) => index.set(t.id, i));
  const edges: number[] = [];
  tasks.forEach((t, i) => {
    for (const dep of t.dependencies ?? []) {
      const j = index.get(dep);
      if (j !== undefined && j !== i) edges.push(j, i);
    }
  });
  return { input: { n: tasks.length, edges, nodeWidth: NODE_W, nodeHeight: NODE_H }, index };
}

/** A key equal for two runs whose DAGs have the same shape (so the layout can be reused). */
export function structureKey(tasks: TaskRun[]): string {
  return tasks.map((t) => `${t.id}:${(t.dependencies ?? []).join(",")}`).join(";");
}

export function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function nodeSubtitle(t: TaskRun): string {
  if (t.reused_from_run !== null && t.reused_from_run !== undefined) return `reused from #${t.reused_from_run}`;
  if (isActive(t.state) && t.start_time) return `${stateLabel(t.state)} ${formatDuration(elapsed(t.start_time, null))}…`;
  if (t.start_time && t.end_time) return formatDuration(elapsed(t.start_time, t.end_time));
  return stateLabel(t.state);
}

export function nodeTooltip(t: TaskRun, plan?: PlanAction): string {
  const lines = [t.name, `task #${t.id} · ${stateLabel(t.state)}`];
  const d = elapsed(t.start_time, t.end_time);
  if (d !== null) lines.push(`duration ${formatDuration(d)}`);
  if (t.reused_from_run !== null && t.reused_from_run !== undefined) lines.push(`reused from run #${t.reused_from_run}`);
  if (t.error) lines.push(`${t.error.type}: ${truncate(t.error.message.split("\n")[0] ?? "", 120)}`);
  if (plan) lines.push(`rerun: ${plan === "execute" ? "will run" : plan === "reuse" ? "result reused" : "skipped"}`);
  return lines.join("\n");
}

/** SVG path of edge `e`: dagre's route as a B-spline, or a curve from the source's right to the target's left. */
export function edgePath(g: Graph, e: number): string {
  const route = g.layout.routes?.[e];
  if (route && route.length >= 4) return basis(route);
  const a = g.edges[2 * e];
  const b = g.edges[2 * e + 1];
  const x1 = g.layout.x[a] + NODE_W / 2;
  const y1 = g.layout.y[a];
  const x2 = g.layout.x[b] - NODE_W / 2;
  const y2 = g.layout.y[b];
  const c = Math.max(24, (x2 - x1) / 2);
  return `M${r(x1)},${r(y1)}C${r(x1 + c)},${r(y1)} ${r(x2 - c)},${r(y2)} ${r(x2)},${r(y2)}`;
}

function r(v: number): string {
  return String(Math.round(v * 10) / 10);
}

/** Uniform cubic B-spline through the route's control points, clamped to its ends. */
function basis(p: number[]): string {
  const n = p.length / 2;
  if (n === 2) return `M${r(p[0])},${r(p[1])}L${r(p[2])},${r(p[3])}`;
  let d = `M${r(p[0])},${r(p[1])}`;
  d += `L${r((5 * p[0] + p[2]) / 6)},${r((5 * p[1] + p[3]) / 6)}`;
  for (let i = 1; i < n - 1; i++) {
    const [x0, y0, x1, y1, x2, y2] = [p[2 * i - 2], p[2 * i - 1], p[2 * i], p[2 * i + 1], p[2 * i + 2], p[2 * i + 3]];
    d +=
      `C${r((2 * x0 + x1) / 3)},${r((2 * y0 + y1) / 3)} ${r((x0 + 2 * x1) / 3)},${r((y0 + 2 * y1) / 3)} ` +
      `${r((x0 + 4 * x1 + x2) / 6)},${r((y0 + 4 * y1 + y2) / 6)}`;
  }
  const [xa, ya, xb, yb] = [p[2 * n - 4], p[2 * n - 3], p[2 * n - 2], p[2 * n - 1]];
  d += `C${r((2 * xa + xb) / 3)},${r((2 * ya + yb) / 3)} ${r((xa + 2 * xb) / 3)},${r((ya + 2 * yb) / 3)} ${r(xb)},${r(yb)}`;
  return d;
}
