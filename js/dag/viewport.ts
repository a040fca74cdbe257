// Pan and zoom for the DAG view: wheel zooms around the pointer, drag pans, a click without drag is a click.
import type { Disposer } from "../dom";

export interface Transform {
  k: number;
  x: number;
  y: number;
}

export const MIN_ZOOM = 0.02;
export const MAX_ZOOM = 4;
/** Fit never enlarges a small graph beyond its natural size. */
export const MAX_FIT_ZOOM = 1;
/** Space kept around the graph by Fit, in CSS pixels. */
export const FIT_PAD = 12;
const DRAG_THRESHOLD = 4;

export class Viewport {
  t: Transform = { k: 1, x: 0, y: 0 };
  /** The view shows the last fit (no pan or zoom since): a resize fits again. */
  fitted = false;
  /** The smallest zoom: MIN_ZOOM, or less when that is what fits the whole graph. */
  private floor = MIN_ZOOM;
  private drag: { id: number; sx: number; sy: number; ox: number; oy: number; moved: boolean } | null = null;
  private suppressClick = false;

  constructor(
    private readonly el: HTMLElement,
    d: Disposer,
    private readonly onChange: (t: Transform) => void,
    onClick: (ev: MouseEvent) => void,
  ) {
    d.listen(el, "wheel", (ev: WheelEvent) => this.onWheel(ev), { passive: false });
    d.listen(el, "pointerdown", (ev: PointerEvent) => {
      if (ev.button !== 0) return;
      this.drag = { id: ev.pointerId, sx: ev.clientX, sy: ev.clientY, ox: this.t.x, oy: this.t.y, moved: false };
    });
    d.listen(el, "pointermove", (ev: PointerEvent) => {
      const g = this.drag;
      if (!g || g.id !== ev.pointerId) return;
      const dx = ev.clientX - g.sx;
      const dy = ev.clientY - g.sy;
      if (!g.moved && Math.hypot(dx, dy) < DRAG_THRESHOLD) return;
      if (!g.moved) {
        g.moved = true;
        el.classList.add("dt-panning");
        try {
          el.setPointerCapture(ev.pointerId);
        } catch {
          // not capturable (synthetic events)
        }
      }
      this.set({ k: this.t.k, x: g.ox + dx, y: g.oy + dy });
    });
    const end = (ev: PointerEvent): void => {
      if (!this.drag || this.drag.id !== ev.pointerId) return;
      this.suppressClick = this.drag.moved;
      this.drag = null;
      el.classList.remove("dt-panning");
    };
    d.listen(el, "pointerup", end);
    d.listen(el, "pointercancel", end);
    d.listen(el, "click", (ev: MouseEvent) => {
      if (this.suppressClick) {
        this.suppressClick = false;
        return;
      }
      onClick(ev);
    });
  }

  size(): { w: number; h: number } {
    const w = this.el.clientWidth || 800;
    const h = this.el.clientHeight || 420;
    return { w, h };
  }

  set(t: Transform): void {
    this.fitted = false;
    this.t = { k: Math.min(MAX_ZOOM, Math.max(this.floor, t.k)), x: t.x, y: t.y };
    this.onChange(this.t);
  }

  /** Zoom by `factor` keeping the screen point (cx, cy) fixed (default: the centre). */
  zoomBy(factor: number, cx?: number, cy?: number): void {
    const { w, h } = this.size();
    const px = cx ?? w / 2;
    const py = cy ?? h / 2;
    const k = Math.min(MAX_ZOOM, Math.max(this.floor, this.t.k * factor));
    const gx = (px - this.t.x) / this.t.k;
    const gy = (py - this.t.y) / this.t.k;
    this.set({ k, x: px - gx * k, y: py - gy * k });
  }

  /** The zoom at which a graph of gw × gh fits a view of w × h (at most MAX_FIT_ZOOM). */
  static fitZoom(gw: number, gh: number, w: number, h: number): number {
    return Math.min(MAX_FIT_ZOOM, (w - 2 * FIT_PAD) / Math.max(gw, 1), (h - 2 * FIT_PAD) / Math.max(gh, 1));
  }

  /** Show the whole graph, centred, at most at 100 %. */
  fit(gw: number, gh: number): void {
    const { w, h } = this.size();
    const k = Math.max(1e-4, Viewport.fitZoom(gw, gh, w, h));
    this.floor = Math.min(MIN_ZOOM, k);
    this.set({ k, x: (w - gw * k) / 2, y: (h - gh * k) / 2 });
    this.fitted = true;
  }

  /** Centre the graph point (gx, gy), zooming in to at least `minZoom`. */
  centreOn(gx: number, gy: number, minZoom = 0.8): void {
    const { w, h } = this.size();
    const k = Math.max(this.t.k, minZoom);
    this.set({ k, x: w / 2 - gx * k, y: h / 2 - gy * k });
  }

  private onWheel(ev: WheelEvent): void {
    ev.preventDefault();
    const unit = ev.deltaMode === 1 ? 16 : ev.deltaMode === 2 ? 400 : 1;
    const factor = Math.exp(-ev.deltaY * unit * (ev.ctrlKey ? 0.01 : 0.0015));
    const rect = this.el.getBoundingClientRect();
    this.zoomBy(factor, ev.clientX - rect.left, ev.clientY - rect.top);
  }
}
