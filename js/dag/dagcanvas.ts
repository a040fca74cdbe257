// Canvas renderer for large DAGs: nodes batched by colour, only what is in view, labels only where readable (see
// detailAt), hit-testing for clicks and a text tooltip on hover.
import { h } from "../dom";
import { stateStyle } from "../format";
import {
  type Decor,
  FONT_FALLBACK,
  type Graph,
  type Renderer,
  detailAt,
  fitText,
  nameFont,
  nodeSubtitle,
  nodeTooltip,
  subFont,
} from "./dagmodel";
import type { Transform } from "./viewport";

/** Nodes are at least this many CSS pixels on screen, so an overview of 10,000 tasks still shows each one. */
const MIN_NODE_PX = 2;

export class CanvasRenderer implements Renderer {
  readonly kind = "canvas" as const;
  readonly el: HTMLDivElement;
  private readonly canvas = h("canvas", { testid: "dt-dag-canvas" });
  private readonly tip = h("div", { class: "dt-tooltip", testid: "dt-dag-tooltip", attrs: { hidden: "" } });
  private graph: Graph | null = null;
  private decor: Decor | null = null;
  private t: Transform = { k: 1, x: 0, y: 0 };
  private frame = 0;
  private hoverFrame = 0;
  /** Nodes by fill colour and opacity, made once per draw/restyle instead of in every paint. */
  private groups: { fill: string; alpha: number; nodes: number[] }[] = [];
  /** What the canvas last painted (transform and size); a repaint of the same is skipped. */
  private painted = "";

  constructor() {
    this.el = h("div", { class: "dt-canvaswrap" }, this.canvas, this.tip);
    this.el.style.position = "absolute";
    this.el.style.inset = "0";
    this.canvas.addEventListener("pointermove", (ev) => {
      cancelAnimationFrame(this.hoverFrame);
      this.hoverFrame = requestAnimationFrame(() => this.hover(ev));
    });
    this.canvas.addEventListener("pointerleave", () => (this.tip.hidden = true));
  }

  draw(graph: Graph, decor: Decor): void {
    this.graph = graph;
    this.decor = decor;
    this.painted = "";
    const byKey = new Map<string, { fill: string; alpha: number; nodes: number[] }>();
    for (let i = 0; i < graph.tasks.length; i++) {
      const plan = decor.plan?.get(i);
      const fill = stateStyle(graph.tasks[i].state).background;
      const alpha = plan === "reuse" ? 0.45 : plan === "skip" ? 0.2 : 1;
      const key = `${fill}|${alpha}`;
      let group = byKey.get(key);
      if (!group) byKey.set(key, (group = { fill, alpha, nodes: [] }));
      group.nodes.push(i);
    }
    this.groups = [...byKey.values()];
    this.schedule();
  }

  restyle(graph: Graph, decor: Decor): void {
    this.draw(graph, decor);
  }

  transform(t: Transform): void {
    this.t = t;
    this.schedule();
  }

  /** Paint now (used by the first draw so its cost can be measured). */
  paintNow(): void {
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.paint();
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.paint();
    });
  }

  private colour(name: string, fallback: string): string {
    return getComputedStyle(this.el).getPropertyValue(name).trim() || fallback;
  }

  private paint(): void {
    const g = this.graph;
    const decor = this.decor;
    const ctx = this.canvas.getContext("2d");
    if (!g || !decor || !ctx) return;
    const w = this.el.clientWidth || 800;
    const hgt = this.el.clientHeight || 420;
    const dpr = window.devicePixelRatio || 1;
    if (this.canvas.width !== Math.round(w * dpr) || this.canvas.height !== Math.round(hgt * dpr)) {
      this.canvas.width = Math.round(w * dpr);
      this.canvas.height = Math.round(hgt * dpr);
    }
    const { k, x, y } = this.t;
    const signature = `${k},${x},${y},${w},${hgt},${dpr}`;
    if (signature === this.painted) return;
    this.painted = signature;
    const geom = g.geom;
    const detail = detailAt(geom, k);
    // in the overview a node keeps a visible size however far out the view is
    const NW = Math.max(geom.w, MIN_NODE_PX / k);
    const NH = Math.max(geom.h, MIN_NODE_PX / k);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, hgt);
    ctx.setTransform(dpr * k, 0, 0, dpr * k, dpr * x, dpr * y);
    const x0 = -x / k - NW;
    const y0 = -y / k - NH;
    const x1 = (w - x) / k + NW;
    const y1 = (hgt - y) / k + NH;
    const X = g.layout.x;
    const Y = g.layout.y;
    const visible = (i: number): boolean => X[i] >= x0 && X[i] <= x1 && Y[i] >= y0 && Y[i] <= y1;

    const edge = this.colour("--dt-edge", "#9aa4ae");
    const accent = this.colour("--dt-accent", "#1976d2");
    const fg = this.colour("--dt-fg", "#1f2328");
    const strokeEdges = (hot: boolean): void => {
      ctx.beginPath();
      for (let e = 0; e < g.edges.length; e += 2) {
        const a = g.edges[e];
        const b = g.edges[e + 1];
        if (hot !== (a === decor.selected || b === decor.selected)) continue;
        if (!visible(a) && !visible(b)) continue;
        const ax = X[a] + geom.w / 2;
        const bx = X[b] - geom.w / 2;
        const c = Math.max(24, (bx - ax) / 2);
        ctx.moveTo(ax, Y[a]);
        ctx.bezierCurveTo(ax + c, Y[a], bx - c, Y[b], bx, Y[b]);
      }
      ctx.strokeStyle = hot ? accent : edge;
      ctx.lineWidth = (hot ? 2.2 : 1.2) / Math.max(k, 0.3);
      ctx.stroke();
    };
    strokeEdges(false);
    if (decor.selected >= 0) strokeEdges(true);

    for (const { fill, alpha, nodes } of this.groups) {
      ctx.globalAlpha = alpha;
      ctx.fillStyle = fill;
      ctx.beginPath();
      for (const i of nodes) if (visible(i)) ctx.rect(X[i] - NW / 2, Y[i] - NH / 2, NW, NH);
      ctx.fill();
    }
    ctx.globalAlpha = 1;
    const outline = (i: number, colour: string, width: number, dash: number[] = []): void => {
      ctx.setLineDash(dash);
      ctx.strokeStyle = colour;
      ctx.lineWidth = width / Math.max(k, 0.15);
      ctx.strokeRect(X[i] - NW / 2, Y[i] - NH / 2, NW, NH);
    };
    for (let i = 0; i < g.tasks.length; i++) {
      if (!visible(i)) continue;
      const t = g.tasks[i];
      if (t.reused_from_run !== null && t.reused_from_run !== undefined) outline(i, fg, 1.5, [5, 3]);
      if (decor.plan?.get(i) === "execute") outline(i, accent, 3);
      if (decor.matches.has(i)) outline(i, accent, i === decor.current ? 4.5 : 3);
    }
    if (decor.selected >= 0) outline(decor.selected, fg, 3);
    ctx.setLineDash([]);

    if (detail !== "overview") {
      const family = getComputedStyle(this.el).fontFamily || FONT_FALLBACK;
      const nf = nameFont(geom, family);
      const sf = subFont(geom, family);
      const room = geom.w - 2 * geom.pad;
      const nameY = geom.subFont && detail === "names" ? geom.h / 2 + geom.nameFont * 0.36 : geom.nameY;
      ctx.textBaseline = "alphabetic";
      for (let i = 0; i < g.tasks.length; i++) {
        if (!visible(i)) continue;
        const t = g.tasks[i];
        const left = X[i] - geom.w / 2 + geom.pad;
        const top = Y[i] - geom.h / 2;
        ctx.fillStyle = stateStyle(t.state).color;
        ctx.font = nf;
        ctx.fillText(fitText(t.name, room, nf), left, top + nameY);
        if (detail === "full") {
          ctx.font = sf;
          ctx.fillText(fitText(nodeSubtitle(t), room, sf), left, top + geom.subY);
        }
      }
    }
  }

  nodeAt(ev: MouseEvent): number {
    const g = this.graph;
    if (!g) return -1;
    const rect = this.canvas.getBoundingClientRect();
    const gx = (ev.clientX - rect.left - this.t.x) / this.t.k;
    const gy = (ev.clientY - rect.top - this.t.y) / this.t.k;
    for (let i = g.tasks.length - 1; i >= 0; i--) {
      if (Math.abs(gx - g.layout.x[i]) <= g.geom.w / 2 && Math.abs(gy - g.layout.y[i]) <= g.geom.h / 2) return i;
    }
    return -1;
  }

  private hover(ev: PointerEvent): void {
    const i = this.nodeAt(ev);
    const g = this.graph;
    if (i < 0 || !g) {
      this.tip.hidden = true;
      return;
    }
    const rect = this.el.getBoundingClientRect();
    this.tip.textContent = nodeTooltip(g.tasks[i], this.decor?.plan?.get(i));
    this.tip.style.left = `${ev.clientX - rect.left + 12}px`;
    this.tip.style.top = `${ev.clientY - rect.top + 12}px`;
    this.tip.hidden = false;
  }

  dispose(): void {
    cancelAnimationFrame(this.frame);
    cancelAnimationFrame(this.hoverFrame);
    this.el.remove();
  }
}
