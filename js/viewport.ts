// Pan and zoom for the DAG view: wheel zooms around the pointer, drag pans, a click without drag is a click.
import type { Disposer } from "./dom";

export interface Transform {
  k: number;
  x: number;
  y: number;
}

export const MIN_ZOOM = 0.02;
export const MAX_ZOOM = 4;
const DRAG_THRESHOLD = 4;

export class Viewport {
  t: Transform = { k: 1, x: 0, y: 0 };
  /** The view shows the last fit (no pan or zoom since): a resize fits again. */
  fitted = false;
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
    this.t = { k: Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, t.k)), x: t.x, y: t.y };
    this.onChange(this.t);
  }

  /** Zoom by `factor` keeping the screen point (cx, cy) fixed (default: the centre). */
  zoomBy(factor: number, cx?: number, cy?: number): void {
    const { w, h } = this.size();
    const px = cx ?? w / 2;
    const py = cy ?? h / 2;
    const k = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, this.t.k * factor));
    const gx = (px - this.t.x) / this.t.k;
    const gy = (py - this.t.y) / this.t.k;
    this.set({ k, x: px - gx * k, y: py - gy * k });
  }

  /** Show the whole graph (at most 100 %); below `minZoom` keep that zoom and show the graph's start. */
  fit(gw: number, gh: number, minZoom = MIN_ZOOM): void {
    const { w, h } = this.size();
    const pad = 16;
    const k = Math.max(MIN_ZOOM, minZoom, Math.min(1, (w - 2 * pad) / Math.max(gw, 1), (h - 2 * pad) / Math.max(gh, 1)));
    const x = gw * k <= w - 2 * pad ? (w - gw * k) / 2 : pad;
    const y = gh * k <= h - 2 * pad ? (h - gh * k) / 2 : pad;
    this.set({ k, x, y });
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
