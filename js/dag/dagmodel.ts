// The DAG as the renderers see it: tasks by index, edges, the layout, what is highlighted, and node texts.
import { elapsed, formatDuration, isActive, stateLabel } from "../format";
import type { LayoutInput, LayoutResult } from "./layout";
import type { PlanAction, TaskRun } from "../types";
import type { Transform } from "./viewport";

/** Widest node and tallest node (two lines); the layout benchmarks use these. */
export const NODE_W = 200;
export const NODE_H = 44;
/** Above this many tasks the DAG is drawn on a canvas instead of SVG. */
export const SVG_MAX_NODES = 1500;
/** Above this many tasks nodes are one line (the name; the rest is in the tooltip), so more fit in view. */
export const COMPACT_ABOVE = 40;
/** Smallest text drawn on screen, in CSS pixels: below it the graph is drawn as an overview without labels. */
export const MIN_LABEL_PX = 11;

/** Node size and text of one graph, in graph units (screen pixels at zoom 1). */
export interface Geometry {
  w: number;
  h: number;
  /** Left padding of the text. */
  pad: number;
  nameFont: number;
  /** Baseline of the name; of the subtitle when there is one. */
  nameY: number;
  /** 0: one-line nodes without a subtitle. */
  subFont: number;
  subY: number;
  /** Space between ranks (left to right) and between the nodes of a rank. */
  rankGap: number;
  nodeGap: number;
}

/** How much a zoom level draws: names and subtitles, names only, or coloured boxes without labels. */
export type Detail = "full" | "names" | "overview";

export function detailAt(geom: Geometry, k: number): Detail {
  if (k * geom.nameFont < MIN_LABEL_PX - 1e-6) return "overview";
  if (geom.subFont && k * geom.subFont >= MIN_LABEL_PX - 1e-6) return "full";
  return "names";
}

/** The smallest zoom at which names are drawn. */
export function labelZoom(geom: Geometry): number {
  return MIN_LABEL_PX / geom.nameFont;
}

export const FONT_FALLBACK = "system-ui, sans-serif";
let measurer: OffscreenCanvasRenderingContext2D | null | undefined;
let measuredFont = "";

/** Width of `text` in `font` (a CSS font shorthand): measured where a canvas exists, else a generous estimate. */
export function textWidth(text: string, font: string): number {
  if (measurer === undefined) {
    try {
      measurer = typeof OffscreenCanvas === "undefined" ? null : new OffscreenCanvas(1, 1).getContext("2d");
    } catch {
      measurer = null;
    }
  }
  if (measurer) {
    if (font !== measuredFont) measurer.font = measuredFont = font; // setting a font parses it, even the same one
    return measurer.measureText(text).width;
  }
  const px = Number(/(\d+(?:\.\d+)?)px/.exec(font)?.[1] ?? 12);
  return text.length * px * (/\b[6-9]00\b|bold/.test(font) ? 0.64 : 0.58);
}

export function nameFont(geom: Geometry, family: string): string {
  return `600 ${geom.nameFont}px ${family}`;
}

export function subFont(geom: Geometry, family: string): string {
  return `${geom.subFont}px ${family}`;
}

/** `text` cut with an ellipsis to fit `max` pixels in `font`. */
export function fitText(text: string, max: number, font: string): string {
  if (textWidth(text, font) <= max) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (textWidth(`${text.slice(0, mid)}…`, font) <= max) lo = mid;
    else hi = mid - 1;
  }
  return `${text.slice(0, lo)}…`;
}

const WIDE = /[A-Z@%&#mwMW_]/g;

function wideLetters(text: string): number {
  return text.match(WIDE)?.length ?? 0;
}

/**
 * Node geometry for these tasks: two-line nodes (name, then duration or state) for small graphs, one-line nodes
 * above COMPACT_ABOVE tasks; as wide as the longest name needs, within bounds (longer names are cut).
 */
export function geometryFor(tasks: TaskRun[], family = FONT_FALLBACK): Geometry {
  const compact = tasks.length > COMPACT_ABOVE;
  const geom: Geometry = compact
    ? { w: 0, h: 22, pad: 7, nameFont: 13, nameY: 15.5, subFont: 0, subY: 0, rankGap: 28, nodeGap: 6 }
    : { w: 0, h: NODE_H, pad: 9, nameFont: 14, nameY: 18.5, subFont: 12, subY: 35, rankGap: 44, nodeGap: 14 };
  const font = nameFont(geom, family);
  // names of one length measure alike, but for their wide letters: measure the first two of each length and any
  // with more wide letters than those measured so far (measuring all 10,000 names of a big run took 60 ms)
  let widest = 0;
  const measured = new Map<number, { count: number; wide: number }>();
  for (const t of tasks) {
    const wide = wideLetters(t.name);
    const seen = measured.get(t.name.length);
    if (seen && seen.count >= 2 && wide <= seen.wide) continue;
    if (seen) {
      seen.count++;
      seen.wide = Math.max(seen.wide, wide);
    } else measured.set(t.name.length, { count: 1, wide });
    widest = Math.max(widest, textWidth(t.name, font));
  }
  const [min, max] = compact ? [72, 180] : [120, NODE_W];
  geom.w = Math.ceil(Math.min(max, Math.max(min, widest + 2 * geom.pad + 2)));
  return geom;
}

export interface Graph {
  tasks: TaskRun[];
  /** task id -> index in `tasks` */
  index: Map<number, number>;
  /** flat [from, to, ...] task indices (dependency -> dependent) */
  edges: number[];
  layout: LayoutResult;
  geom: Geometry;
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

export function layoutInput(tasks: TaskRun[], geom: Geometry): { input: LayoutInput; index: Map<number, number> } {
  const index = new Map<number, number>();
  tasks.forEach((t, i) => index.set(t.id, i));
  const edges: number[] = [];
  tasks.forEach((t, i) => {
    for (const dep of t.dependencies ?? []) {
      const j = index.get(dep);
      if (j !== undefined && j !== i) edges.push(j, i);
    }
  });
  // compact graphs use the layered layout: about half as tall as dagre's for the same graph, so more is readable
  const engine = geom.subFont ? "auto" : "layered";
  const input: LayoutInput = { n: tasks.length, edges, nodeWidth: geom.w, nodeHeight: geom.h, engine, rankGap: geom.rankGap, nodeGap: geom.nodeGap };
  return { input, index };
}

/** A key equal for two runs whose DAGs have the same shape (so the layout can be reused). */
export function structureKey(tasks: TaskRun[]): string {
  return tasks.map((t) => `${t.id}:${(t.dependencies ?? []).join(",")}`).join(";");
}

/** The screen rectangle (relative to the view) that holds every node at transform `t`. */
export function nodeBounds(g: Graph, t: Transform): { left: number; top: number; right: number; bottom: number } {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < g.tasks.length; i++) {
    x0 = Math.min(x0, g.layout.x[i]);
    x1 = Math.max(x1, g.layout.x[i]);
    y0 = Math.min(y0, g.layout.y[i]);
    y1 = Math.max(y1, g.layout.y[i]);
  }
  const { w, h } = g.geom;
  return {
    left: t.x + (x0 - w / 2) * t.k,
    top: t.y + (y0 - h / 2) * t.k,
    right: t.x + (x1 + w / 2) * t.k,
    bottom: t.y + (y1 + h / 2) * t.k,
  };
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
  const x1 = g.layout.x[a] + g.geom.w / 2;
  const y1 = g.layout.y[a];
  const x2 = g.layout.x[b] - g.geom.w / 2;
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
