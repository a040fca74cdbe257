// SVG renderer of the DAG (up to SVG_MAX_NODES tasks): one group per task with its name, duration and tooltip;
// labels are drawn only at zooms where they are readable (see detailAt), else the nodes are coloured boxes.
import { literalArguments } from "../arguments";
import { svg } from "../dom";
import { stateStyle } from "../format";
import {
  type Decor,
  type Detail,
  FONT_FALLBACK,
  type Graph,
  truncate,
  type Renderer,
  detailAt,
  edgePath,
  fitText,
  nameFont,
  nodeSubtitle,
  nodeTooltip,
  subFont,
} from "./dagmodel";
import type { Transform } from "./viewport";

let uid = 0;

export class SvgRenderer implements Renderer {
  readonly kind = "svg" as const;
  readonly el: SVGSVGElement;
  private readonly view: SVGGElement;
  private nodes: SVGGElement[] = [];
  private edgeEls: SVGPathElement[] = [];
  private readonly marker: string;
  private graph: Graph | null = null;
  private detail: Detail | null = null;
  private family = FONT_FALLBACK;

  constructor() {
    this.marker = `dt-arrow-${++uid}`;
    this.el = svg("svg", { "data-testid": "dt-dag-svg", role: "img", "aria-label": "Task graph" });
    const defs = svg("defs");
    const marker = svg("marker", {
      id: this.marker,
      viewBox: "0 0 10 10",
      refX: 9,
      refY: 5,
      markerWidth: 7,
      markerHeight: 7,
      orient: "auto-start-reverse",
    });
    const tip = svg("path", { d: "M0,0L10,5L0,10z", class: "dt-arrowhead" });
    tip.style.fill = "var(--dt-edge)";
    marker.appendChild(tip);
    defs.appendChild(marker);
    this.view = svg("g", { class: "dt-viewport" });
    this.el.append(defs, this.view);
  }

  draw(graph: Graph, decor: Decor): void {
    this.graph = graph;
    this.detail = null;
    this.family = (this.el.isConnected && getComputedStyle(this.el).fontFamily) || FONT_FALLBACK;
    const { w, h, pad, nameY } = graph.geom;
    const font = nameFont(graph.geom, this.family);
    const edges = svg("g", { class: "dt-edges" });
    const nodes = svg("g", { class: "dt-nodes" });
    this.edgeEls = [];
    for (let e = 0; e < graph.edges.length / 2; e++) {
      const p = svg("path", { class: "dt-edge", d: edgePath(graph, e), "marker-end": `url(#${this.marker})` });
      this.edgeEls.push(p);
      edges.appendChild(p);
    }
    this.nodes = graph.tasks.map((t, i) => {
      const g = svg("g", {
        class: "dt-node",
        "data-testid": "dt-dag-node",
        "data-index": i,
        "data-task-id": t.id,
        transform: `translate(${graph.layout.x[i] - w / 2},${graph.layout.y[i] - h / 2})`,
      });
      const rect = svg("rect", { width: w, height: h, rx: 5, ry: 5 });
      const name = svg("text", { class: "dt-node-name", x: pad, y: nameY, "font-size": graph.geom.nameFont });
      name.textContent = fitText(t.name, w - 2 * pad, font);
      const sub = svg("text", { class: "dt-node-sub", x: pad, y: graph.geom.subY, "font-size": graph.geom.subFont || 1 });
      const title = svg("title");
      g.append(title, rect, name, sub);
      nodes.appendChild(g);
      return g;
    });
    this.view.replaceChildren(edges, literalNodes(graph), nodes);
    this.restyle(graph, decor);
  }

  restyle(graph: Graph, decor: Decor): void {
    graph.tasks.forEach((t, i) => {
      const g = this.nodes[i];
      if (!g) return;
      const style = stateStyle(t.state);
      const [title, rect, name, sub] = [...g.children] as SVGElement[];
      rect.style.fill = style.background;
      name.style.fill = style.color;
      sub.style.fill = style.color;
      if (graph.geom.subFont) sub.textContent = fitText(nodeSubtitle(t), graph.geom.w - 2 * graph.geom.pad, subFont(graph.geom, this.family));
      const plan = decor.plan?.get(i);
      title.textContent = nodeTooltip(t, plan);
      g.setAttribute("data-state", t.state);
      g.classList.toggle("dt-reused", t.reused_from_run !== null && t.reused_from_run !== undefined);
      g.classList.toggle("dt-sel", i === decor.selected);
      g.classList.toggle("dt-match", decor.matches.has(i));
      g.classList.toggle("dt-current", i === decor.current);
      for (const a of ["execute", "reuse", "skip"] as const) g.classList.toggle(`dt-plan-${a}`, plan === a);
    });
    for (let e = 0; e < this.edgeEls.length; e++) {
      const hot = decor.selected >= 0 && (graph.edges[2 * e] === decor.selected || graph.edges[2 * e + 1] === decor.selected);
      this.edgeEls[e].classList.toggle("dt-hot", hot);
    }
  }

  transform(t: Transform): void {
    this.view.setAttribute("transform", `translate(${t.x},${t.y}) scale(${t.k})`);
    const g = this.graph;
    if (!g) return;
    const detail = detailAt(g.geom, t.k);
    if (detail === this.detail) return;
    this.detail = detail;
    for (const d of ["full", "names", "overview"] as const) this.el.classList.toggle(`dt-detail-${d}`, d === detail);
    // a two-line node showing its name only centres it
    const { h, nameFont: size, nameY, subFont: sub } = g.geom;
    const y = sub && detail === "names" ? h / 2 + size * 0.36 : nameY;
    for (const node of this.nodes) node.children[2]?.setAttribute("y", String(y));
  }

  nodeAt(ev: MouseEvent): number {
    const target = ev.target;
    if (!(target instanceof Element)) return -1;
    const g = target.closest("[data-index]");
    return g ? Number(g.getAttribute("data-index")) : -1;
  }

  dispose(): void {
    this.el.remove();
  }
}

const LITERAL_R = 7;
const LITERAL_DX = 20; // from a node's left side to the centre of its literals
const LITERAL_STEP = 16;
const MAX_LITERALS = 3;

/** Literal arguments of each task as small circles left of its node, as in `13((13)) --> first_addition`. */
function literalNodes(graph: Graph): SVGGElement {
  const group = svg("g", { class: "dt-literals" });
  const { w } = graph.geom;
  graph.tasks.forEach((t, i) => {
    const literals = literalArguments(t);
    if (!literals.length) return;
    const shown = literals.length > MAX_LITERALS ? [...literals.slice(0, MAX_LITERALS - 1), null] : literals;
    const left = graph.layout.x[i] - w / 2;
    const cy0 = graph.layout.y[i] - ((shown.length - 1) * LITERAL_STEP) / 2;
    shown.forEach((lit, k) => {
      const cx = left - LITERAL_DX;
      const cy = cy0 + k * LITERAL_STEP;
      const g = svg("g", { class: "dt-literal", "data-testid": "dt-dag-literal", "data-task-id": t.id });
      const title = svg("title");
      const label = svg("text", { x: cx, y: cy + 3, "text-anchor": "middle", class: "dt-literal-text" });
      if (lit) {
        title.textContent = `${t.name}: ${lit[0]} = ${lit[1]}`;
        label.textContent = truncate(lit[1], 4);
      } else {
        const rest = literals.slice(MAX_LITERALS - 1);
        title.textContent = `${t.name}: ${rest.map(([n, v]) => `${n} = ${v}`).join(", ")}`;
        label.textContent = `+${rest.length}`;
      }
      g.append(
        title,
        svg("line", { x1: cx + LITERAL_R, y1: cy, x2: left, y2: graph.layout.y[i], class: "dt-literal-edge" }),
        svg("circle", { cx, cy, r: LITERAL_R }),
        label,
      );
      group.appendChild(g);
    });
  });
  return group;
}
