// The weekly activity heatmap (weekday x UTC hour, runs coloured by outcome), drawn in SVG from overview data,
// and the brush that turns a span of cells into a date range: the most recent such span up to now.
import { h, svg } from "../dom";
import { STATE_COLOURS, toWireTime } from "../format";
import type { HeatCell } from "../types";

export const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const HOUR_MS = 3_600_000;

export interface Bin {
  completed: number;
  failed: number;
  other: number;
}

/** 7 x 24 bins (index weekday * 24 + hour) summed over the given heatmaps. */
export function sumHeatmaps(maps: HeatCell[][]): Bin[] {
  const bins: Bin[] = Array.from({ length: 168 }, () => ({ completed: 0, failed: 0, other: 0 }));
  for (const map of maps) {
    for (const cell of map) {
      const [wd, hour, completed, failed, other] = cell;
      if (!(wd >= 0 && wd < 7 && hour >= 0 && hour < 24)) continue;
      const b = bins[wd * 24 + hour];
      b.completed += Number(completed) || 0;
      b.failed += Number(failed) || 0;
      b.other += Number(other) || 0;
    }
  }
  return bins;
}

export function binTotal(b: Bin): number {
  return b.completed + b.failed + b.other;
}

/** The fill of a cell: red when any run failed, green when runs completed, grey for the rest; stronger with more. */
export function binColour(b: Bin, max: number): { fill: string; opacity: number } {
  const n = binTotal(b);
  if (!n) return { fill: "var(--dt-bg2)", opacity: 1 };
  const fill = b.failed ? STATE_COLOURS.failed[0] : b.completed ? STATE_COLOURS.completed[0] : STATE_COLOURS.created[0];
  return { fill, opacity: 0.35 + 0.65 * Math.min(1, n / Math.max(1, max)) };
}

/**
 * The date range of a brush from cell `a` to cell `b` (weekday * 24 + UTC hour, either order): the most recent
 * span of those hours that has begun by `now`, as wire times.
 */
export function brushRange(a: number, b: number, now: number = Date.now()): { start: string; end: string } {
  const lo = Math.max(0, Math.min(a, b));
  const hi = Math.min(167, Math.max(a, b));
  const nowHour = Math.floor(now / HOUR_MS) * HOUR_MS;
  const d = new Date(nowHour);
  const nowCell = ((d.getUTCDay() + 6) % 7) * 24 + d.getUTCHours();
  // the most recent start of cell `lo` at or before now
  const back = (nowCell - lo + 168) % 168;
  const start = nowHour - back * HOUR_MS;
  const end = start + (hi - lo + 1) * HOUR_MS;
  return { start: toWireTime(start), end: toWireTime(end) };
}

export function cellLabel(i: number): string {
  return `${WEEKDAYS[Math.floor(i / 24)]} ${String(i % 24).padStart(2, "0")}:00`;
}

/** A small heatmap without labels or brush (one per overview row). */
export function miniHeatmap(cells: HeatCell[], testid = "dt-ov-mini-heatmap"): SVGSVGElement {
  const bins = sumHeatmaps([cells]);
  const max = Math.max(1, ...bins.map(binTotal));
  const s = 4;
  const root = svg("svg", { width: 24 * s, height: 7 * s, viewBox: `0 0 ${24 * s} ${7 * s}`, class: "dt-ov-mini", role: "img" });
  root.dataset.testid = testid;
  root.setAttribute("aria-label", `Runs per weekday and hour: ${bins.reduce((n, b) => n + binTotal(b), 0)}`);
  root.appendChild(svg("rect", { x: 0, y: 0, width: 24 * s, height: 7 * s, rx: 1, class: "dt-ov-mini-bg" }));
  for (const [i, b] of bins.entries()) {
    if (!binTotal(b)) continue;
    const c = binColour(b, max);
    root.appendChild(svg("rect", { x: (i % 24) * s, y: Math.floor(i / 24) * s, width: s - 0.5, height: s - 0.5, fill: c.fill, "fill-opacity": c.opacity }));
  }
  return root;
}

/** The big heatmap: labelled, with a tooltip per cell and a brush (drag over cells) that reports a cell span. */
export class Heatmap {
  readonly el: HTMLElement;
  private readonly grid: SVGSVGElement;
  private readonly rects: SVGRectElement[] = [];
  private bins: Bin[] = sumHeatmaps([]);
  private anchor: number | null = null;
  private brushed: [number, number] | null = null;
  private readonly geo = { left: 32, top: 14, cw: 18, ch: 14 };
  private current: number | null = null;

  constructor(private readonly onBrush: (a: number, b: number) => void) {
    const cw = 18;
    const ch = 14;
    const left = 32;
    const top = 14;
    this.grid = svg("svg", { width: left + 24 * cw, height: top + 7 * ch, class: "dt-heatmap-svg" });
    this.grid.dataset.testid = "dt-heatmap";
    for (let hr = 0; hr < 24; hr += 3) {
      const t = svg("text", { x: left + hr * cw + 2, y: 10, class: "dt-heat-label" });
      t.textContent = String(hr).padStart(2, "0");
      this.grid.appendChild(t);
    }
    for (const [wd, name] of WEEKDAYS.entries()) {
      const t = svg("text", { x: 0, y: top + wd * ch + 11, class: "dt-heat-label" });
      t.textContent = name;
      this.grid.appendChild(t);
    }
    for (let i = 0; i < 168; i++) {
      const r = svg("rect", { x: left + (i % 24) * cw, y: top + Math.floor(i / 24) * ch, width: cw - 2, height: ch - 2, rx: 2, class: "dt-heat-cell" });
      r.dataset.testid = "dt-heat-cell";
      r.dataset.cell = String(i);
      r.appendChild(svg("title"));
      r.addEventListener("mousedown", (ev) => {
        if (ev.button !== 0) return;
        ev.preventDefault();
        ev.stopPropagation(); // not a drag of the notebook cell
        this.anchor = this.current = i;
        this.mark();
        this.track();
      });
      this.rects.push(r);
      this.grid.appendChild(r);
    }
    this.el = h("div", { class: "dt-heatmap" }, this.grid as unknown as HTMLElement);
  }

  /** The cell under a point of the page (clamped to the grid), from the grid's geometry. */
  cellAt(clientX: number, clientY: number): number {
    const box = this.grid.getBoundingClientRect();
    const col = Math.max(0, Math.min(23, Math.floor((clientX - box.left - this.geo.left) / this.geo.cw)));
    const row = Math.max(0, Math.min(6, Math.floor((clientY - box.top - this.geo.top) / this.geo.ch)));
    return row * 24 + col;
  }

  /** Follow the pointer on the document until the button is released (events need not land on a cell). */
  private track(): void {
    const move = (ev: MouseEvent): void => {
      if (this.anchor === null) return;
      const i = ev.target instanceof Element && ev.target.closest("[data-cell]") ? Number((ev.target.closest("[data-cell]") as HTMLElement).dataset.cell) : this.cellAt(ev.clientX, ev.clientY);
      if (i !== this.current) {
        this.current = i;
        this.mark();
      }
    };
    const up = (ev: MouseEvent): void => {
      document.removeEventListener("mousemove", move, true);
      document.removeEventListener("mouseup", up, true);
      if (this.anchor === null) return;
      move(ev);
      this.finish(this.current ?? this.anchor);
    };
    document.addEventListener("mousemove", move, true);
    document.addEventListener("mouseup", up, true);
  }

  private finish(i: number): void {
    if (this.anchor === null) return;
    const a = this.anchor;
    this.current = i;
    this.mark();
    this.anchor = null;
    this.onBrush(a, i);
  }

  /** Mark the cells between the anchor and the pointer while dragging; they stay marked after the release. */
  private mark(): void {
    if (this.anchor !== null && this.current !== null) this.brushed = [Math.min(this.anchor, this.current), Math.max(this.anchor, this.current)];
    else if (this.anchor === null && this.current === null) this.brushed = null;
    const [lo, hi] = this.brushed ?? [-1, -2];
    for (const [i, r] of this.rects.entries()) r.classList.toggle("dt-heat-brushed", i >= lo && i <= hi);
  }

  clearBrush(): void {
    this.anchor = this.current = null;
    this.mark();
  }

  setData(bins: Bin[]): void {
    this.bins = bins;
    const max = Math.max(1, ...bins.map(binTotal));
    for (const [i, r] of this.rects.entries()) {
      const b = this.bins[i];
      const c = binColour(b, max);
      r.setAttribute("fill", c.fill);
      r.setAttribute("fill-opacity", String(c.opacity));
      r.dataset.count = String(binTotal(b));
      const title = r.firstChild as SVGTitleElement;
      title.textContent = `${cellLabel(i)} UTC: ${binTotal(b)} runs (${b.completed} completed, ${b.failed} failed, ${b.other} other)`;
    }
  }
}
