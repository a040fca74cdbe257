// The DAG panel of the selected run: run header, find box, zoom and fit, legend, and the graph (SVG, or canvas
// for large runs) laid out off the main thread. Clicking a task selects it; running runs are polled.
import { type Ctx, type PlanOverlay, listen, liveHas, onTraits, selectedRun, selectedTask, setTraits } from "../app";
import { CanvasRenderer } from "./dagcanvas";
import {
  type Decor,
  type Detail,
  FONT_FALLBACK,
  type Graph,
  MIN_LABEL_PX,
  type Renderer,
  SVG_MAX_NODES,
  detailAt,
  emptyDecor,
  geometryFor,
  labelZoom,
  layoutInput,
  nodeBounds,
  structureKey,
} from "./dagmodel";
import { SvgRenderer } from "./dagsvg";
import { button, h, setChildren } from "../dom";
import { elapsed, excerpt, formatCount, formatDuration, formatTime, isActive, plural, stateLabel } from "../format";
import type { LayoutResult } from "./layout";
import { LayoutClient } from "./layoutclient";
import { Latest } from "../protocol";
import { type PlanAction, RUN_STATES, type RunDetail, type RunSummary } from "../types";
import { debugEnabled, errorBox, loading, note, stateDot, statePill } from "../ui";
import { FIT_PAD, type Transform, Viewport } from "./viewport";

const POLL_MS = 2000;
const CACHE_SIZE = 6;
/** Height of the graph area with nothing to draw, and its least height with a graph. */
const EMPTY_VIEW_H = 110;
const MIN_VIEW_H = 130;
/** The least the graph area may grow to, whatever the window. */
const MIN_MAX_VIEW_H = 220;
/** Room left for the notebook's own bars (menu, tabs, toolbar, status) when the explorer sizes its graph area. */
const PAGE_CHROME = 125;

export class DagPanel {
  readonly el: HTMLElement;
  private readonly head = h("div", { class: "dt-runhead", testid: "dt-run-header" });
  private readonly view = h("div", { class: "dt-dagview", testid: "dt-dag-view" });
  private readonly legend = h("div", { class: "dt-legend", testid: "dt-dag-legend" });
  private readonly find = h("input", {
    class: "dt-input",
    testid: "dt-dag-find",
    attrs: { type: "search", placeholder: "Find task…", "aria-label": "Find task" },
  });
  private readonly findCount = h("span", { class: "dt-small dt-muted", testid: "dt-dag-find-count" });
  /** Errors of background reloads; with the debug flag, also the layout and draw timings. */
  private readonly status = h("div", { class: "dt-dagstatus", testid: "dt-dag-status" });
  private readonly hint = h("div", { class: "dt-dag-hint", testid: "dt-dag-overview-hint", attrs: { hidden: "" } });
  private readonly grip = h("div", {
    class: "dt-dag-grip",
    testid: "dt-dag-resize",
    title: "Drag to resize the graph; double-click to size it to the graph again",
    attrs: { role: "separator", "aria-orientation": "horizontal", "aria-label": "Resize the graph area", tabindex: "0", hidden: "" },
  });
  /** A height the user chose by dragging the grip (the graph area then keeps it). */
  private userHeight = false;
  private sizedWidth = 0;
  private observed = false;
  private readonly viewport: Viewport;
  private readonly layouts = new LayoutClient();
  private readonly cache = new Map<string, LayoutResult>();
  private readonly latest = new Latest();
  private renderer: Renderer | null = null;
  private graph: Graph | null = null;
  private decor: Decor = emptyDecor();
  private structure = "";
  private runId = 0;
  private generation = 0;
  private busy = false;
  /** The run is being laid out and drawn; a pushed answer of it meanwhile is read once it is shown. */
  private showing = false;
  private liveWaiting = false;
  private plan: PlanOverlay | null = null;
  private observeAbove: (els: Element[]) => void = () => undefined;

  constructor(private readonly ctx: Ctx) {
    const d = ctx.d;
    d.add(() => {
      this.latest.cancel();
      this.layouts.dispose();
      this.renderer?.dispose();
    });
    this.viewport = new Viewport(this.view, d, (t) => this.transformed(t), (ev) => this.click(ev));
    this.view.style.height = `${EMPTY_VIEW_H}px`;
    this.setupGrip();
    d.listen(this.find, "input", () => this.search(false));
    d.listen(this.find, "keydown", (ev: KeyboardEvent) => {
      if (ev.key === "Enter") {
        ev.preventDefault();
        this.search(true);
      }
    });
    const bar = h(
      "div",
      { class: "dt-dagbar" },
      this.find,
      this.findCount,
      button("−", "dt-dag-zoom-out", () => this.viewport.zoomBy(1 / 1.25), "dt-btn dt-btn-small"),
      button("+", "dt-dag-zoom-in", () => this.viewport.zoomBy(1.25), "dt-btn dt-btn-small"),
      button("Fit", "dt-dag-fit", () => this.fit(), "dt-btn dt-btn-small"),
      this.legend,
      this.hint,
    );
    this.el = h(
      "section",
      { class: "dt-dagpanel", testid: "dt-dag", attrs: { "aria-label": "Run graph" } },
      this.head,
      bar,
      this.view,
      this.grip,
      this.status,
    );
    if (typeof ResizeObserver !== "undefined") {
      const ro = new ResizeObserver(() => {
        if (Math.abs(this.view.clientWidth - this.sizedWidth) > 8) this.autoSize();
        if (this.viewport.fitted) this.fit();
        else this.transformed(this.viewport.t);
      });
      ro.observe(this.view);
      d.add(() => ro.disconnect());
      // the header and run table above take their height when they load: the graph area makes room for them
      const above = new ResizeObserver(() => this.autoSize());
      this.observeAbove = (els) => els.forEach((e) => above.observe(e));
      d.add(() => above.disconnect());
    }
    d.listen(window, "resize", () => this.autoSize());
    onTraits(ctx, ["selected_run"], () => void this.load(selectedRun(ctx)));
    onTraits(ctx, ["selected_task"], () => this.syncSelection());
    listen(ctx, "refresh", () => void this.load(this.runId, true, true));
    // the kernel pushed this run again (a task's state, a duration, the run's end): redraw the colours in place
    // (while the run loads or is laid out, once it is shown: a push then would start the layout over)
    listen(ctx, "live", (keys) => {
      if (!this.runId || !liveHas(keys, "get-run", { run_id: this.runId })) return;
      if (this.showing) this.liveWaiting = true;
      else void this.load(this.runId, true);
    });
    listen(ctx, "plan", (plan) => {
      this.plan = plan;
      this.applyPlan();
    });
    d.interval(() => {
      if (!this.busy && this.runId && this.ctx.run && isActive(this.ctx.run.run.state)) void this.load(this.runId, true);
    }, POLL_MS);
    void this.load(selectedRun(ctx));
  }

  private async load(runId: number, quiet = false, fresh = false): Promise<void> {
    const signal = this.latest.next();
    if (runId !== this.runId) quiet = false;
    this.runId = runId;
    if (!runId) {
      this.clear(note("Select a run in the table to see its tasks.", "dt-dag-empty"));
      this.setHeight(EMPTY_VIEW_H);
      return;
    }
    if (!quiet) this.clear(loading(`Loading run #${runId}…`, "dt-dag-loading"));
    this.busy = true;
    try {
      const detail = await this.ctx.api.request("get-run", { run_id: runId }, { signal, fresh });
      if (!quiet) this.el.dataset.detailAt = performance.now().toFixed(1); // the benchmark's split of "magic to drawn"
      this.showing = true;
      try {
        await this.show(detail);
      } finally {
        this.showing = false;
      }
    } catch (err) {
      if (signal.aborted) return;
      const box = errorBox(`Could not load run #${runId}`, err, () => void this.load(runId), "dt-dag-error");
      if (box && !quiet) this.clear(box);
      else if (box) this.status.textContent = box.textContent ?? "";
    } finally {
      if (!signal.aborted) this.busy = false;
      if (this.liveWaiting && !this.showing) {
        this.liveWaiting = false;
        void this.load(this.runId, true);
      }
    }
  }

  private clear(content: HTMLElement): void {
    this.generation++;
    this.renderer?.dispose();
    this.renderer = null;
    this.graph = null;
    this.structure = "";
    this.ctx.run = null;
    this.ctx.bus.emit("run-detail", null);
    this.head.replaceChildren();
    this.legend.replaceChildren();
    this.status.textContent = "";
    this.hint.hidden = true;
    this.grip.hidden = true;
    setChildren(this.view, content);
    delete this.view.dataset.detail;
  }

  private async show(detail: RunDetail): Promise<void> {
    this.ctx.run = detail;
    this.renderHead(detail.run);
    const tasks = detail.tasks;
    const key = structureKey(tasks);
    if (this.graph && key === this.structure) {
      this.graph.tasks = tasks;
      this.renderer?.restyle(this.graph, this.decor);
      this.renderLegend();
      this.ctx.bus.emit("run-detail", detail);
      return;
    }
    this.ctx.bus.emit("run-detail", detail);
    if (!tasks.length) {
      this.setView(note("No tasks are recorded for this run.", "dt-dag-no-tasks"));
      this.setHeight(EMPTY_VIEW_H);
      return;
    }
    const gen = ++this.generation;
    if (tasks.length > 200) this.setView(loading(`Laying out ${formatCount(tasks.length)} tasks…`, "dt-dag-layout"));
    const geom = geometryFor(tasks, getComputedStyle(this.view).fontFamily || FONT_FALLBACK);
    const { input, index } = layoutInput(tasks, geom);
    const layoutKey = `${geom.w}x${geom.h}|${key}`;
    const t0 = performance.now();
    this.el.dataset.layoutAt = t0.toFixed(1);
    let layout = this.cache.get(layoutKey);
    const cached = layout !== undefined;
    try {
      layout ??= await this.layouts.layout(input);
    } catch (err) {
      if (gen === this.generation) this.setView(errorBox("Could not lay out the graph", err) ?? note(""));
      return;
    }
    if (gen !== this.generation) return;
    this.cache.set(layoutKey, layout);
    if (this.cache.size > CACHE_SIZE) this.cache.delete(this.cache.keys().next().value ?? "");
    const t1 = performance.now();
    const renderer: Renderer = tasks.length > SVG_MAX_NODES ? new CanvasRenderer() : new SvgRenderer();
    this.setView(renderer.el);
    this.renderer = renderer;
    this.grip.hidden = false;
    this.structure = key;
    this.graph = { tasks, index, edges: input.edges, layout, geom };
    this.decor = emptyDecor();
    this.syncSelection(false);
    this.applyPlan(false);
    renderer.draw(this.graph, this.decor);
    this.autoSize(true);
    this.fit();
    if (renderer instanceof CanvasRenderer) renderer.paintNow();
    this.search(false, false);
    const t2 = performance.now();
    const where = cached ? "cached" : this.layouts.lastMode;
    // timings for the benchmark (data attributes) and, with the debug flag, on screen
    this.status.textContent = debugEnabled()
      ? `${plural(tasks.length, "task")} · layout ${Math.round(t1 - t0)} ms (${layout.engine}, ${where}) · ` +
        `draw ${Math.round(t2 - t1)} ms (${renderer.kind})`
      : "";
    Object.assign(this.el.dataset, {
      layoutMs: String(Math.round(t1 - t0)),
      drawMs: String(Math.round(t2 - t1)),
      engine: layout.engine,
      renderer: renderer.kind,
      runId: String(detail.run.run_id),
      drawnAt: t2.toFixed(1),
    });
    this.renderLegend();
  }

  private setView(content: Element): void {
    if (this.renderer && content !== this.renderer.el) {
      this.renderer.dispose();
      this.renderer = null;
      this.graph = null;
      this.structure = "";
    }
    this.hint.hidden = true;
    this.grip.hidden = true;
    this.view.replaceChildren(content);
    delete this.view.dataset.detail;
  }

  /** The view moved or zoomed: redraw, and say what is drawn (labels, or an overview with a hint to zoom in). */
  private transformed(t: Transform): void {
    const g = this.graph;
    this.renderer?.transform(t);
    if (!g) return;
    const detail: Detail = detailAt(g.geom, t.k);
    const b = nodeBounds(g, t);
    Object.assign(this.view.dataset, {
      detail,
      zoom: t.k.toFixed(4),
      labelPx: detail === "overview" ? "0" : (t.k * g.geom.nameFont).toFixed(1),
      nodeBounds: [b.left, b.top, b.right, b.bottom].map((v) => v.toFixed(1)).join(","),
    });
    this.hint.hidden = detail !== "overview";
    if (detail === "overview") {
      this.hint.textContent = "Overview: zoom in (+ or the wheel) to read task names";
      this.hint.title = `All ${plural(g.tasks.length, "task")} in view, too small to label; zoom in or use Find task to read names`;
    }
  }

  /** Drag the grip to set the graph area's height; double-click or Home hands it back to the automatic size. */
  private setupGrip(): void {
    const d = this.ctx.d;
    let drag: { id: number; y: number; h: number } | null = null;
    d.listen(this.grip, "pointerdown", (ev: PointerEvent) => {
      if (ev.button !== 0) return;
      ev.preventDefault();
      drag = { id: ev.pointerId, y: ev.clientY, h: this.view.getBoundingClientRect().height };
      try {
        this.grip.setPointerCapture(ev.pointerId);
      } catch {
        // synthetic events cannot be captured
      }
    });
    d.listen(this.grip, "pointermove", (ev: PointerEvent) => {
      if (!drag || drag.id !== ev.pointerId) return;
      this.userHeight = true;
      this.setHeight(drag.h + ev.clientY - drag.y);
    });
    const end = (ev: PointerEvent): void => {
      if (drag?.id === ev.pointerId) drag = null;
    };
    d.listen(this.grip, "pointerup", end);
    d.listen(this.grip, "pointercancel", end);
    d.listen(this.grip, "dblclick", () => {
      this.userHeight = false;
      this.autoSize(true);
    });
    d.listen(this.grip, "keydown", (ev: KeyboardEvent) => {
      const step = ev.key === "ArrowDown" ? 40 : ev.key === "ArrowUp" ? -40 : 0;
      if (step) {
        ev.preventDefault();
        this.userHeight = true;
        this.setHeight(this.view.getBoundingClientRect().height + step);
      } else if (ev.key === "Home") {
        ev.preventDefault();
        this.userHeight = false;
        this.autoSize(true);
      }
    });
  }

  private setHeight(px: number): void {
    const next = Math.round(Math.max(MIN_VIEW_H - 30, Math.min(4000, px)));
    if (this.view.style.height !== `${next}px`) this.view.style.height = `${next}px`;
  }

  /**
   * Size the graph area to the graph: as tall as the graph is at the zoom that fits its width (or, when even that
   * is an overview, at the zoom where names become readable), within what leaves the explorer on one screen.
   */
  private autoSize(force = false): void {
    const g = this.graph;
    if (!g || this.userHeight || this.ctx.d.disposed) return;
    if (!this.observed && this.el.parentElement) {
      this.observed = true;
      this.observeAbove([...this.ctx.root.children].filter((c) => c !== this.el.parentElement && c.tagName !== "STYLE"));
    }
    const w = this.view.clientWidth || 800;
    this.sizedWidth = this.view.clientWidth;
    const kw = Viewport.fitZoom(g.layout.width, 1, w, 1e9);
    const want = g.layout.height * Math.max(kw, Math.min(1, labelZoom(g.geom))) + 2 * FIT_PAD;
    const next = Math.min(this.maxHeight(), Math.max(MIN_VIEW_H, want));
    const now = this.view.getBoundingClientRect().height;
    if (force || Math.abs(next - now) > 4) this.setHeight(next);
  }

  /** The tallest the graph area may be so that the whole explorer fits in the window. */
  private maxHeight(): number {
    const win = window.innerHeight || 800;
    const root = this.ctx.root.getBoundingClientRect().height;
    const body = this.el.parentElement?.getBoundingClientRect().height ?? 0;
    const chrome = this.el.getBoundingClientRect().height - this.view.getBoundingClientRect().height;
    const others = Math.max(0, root - body) + Math.max(0, chrome);
    return Math.max(MIN_MAX_VIEW_H, win - others - PAGE_CHROME);
  }

  private renderHead(run: RunSummary): void {
    const took = run.start_time && !run.end_time && isActive(run.state)
      ? `running for ${formatDuration(elapsed(run.start_time, null))}`
      : `took ${formatDuration(elapsed(run.start_time, run.end_time))}`;
    const rerunOf = run.rerun_of ?? null;
    const parts: (Node | string | null)[] = [
      h("span", { class: "dt-title", testid: "dt-run-title", text: `Run #${run.run_id}` }),
      h("span", { class: "dt-muted", text: run.workflow }),
      statePill(run.state, "dt-run-state"),
      h("span", { class: "dt-muted", text: `v${run.job_version} · ${run.trigger} · ${run.env}` }),
      h("span", { class: "dt-muted", text: `started ${formatTime(run.start_time ?? run.submit_time)} · ${took}` }),
      rerunOf !== null
        ? h("span", { class: "dt-muted" }, "rerun of ", button(`#${rerunOf}`, "dt-run-parent", () => setTraits(this.ctx, { selected_run: rerunOf, selected_task: -1 }), "dt-btn-link"))
        : null,
      button("Rerun…", "dt-dag-rerun", () => this.ctx.bus.emit("open-rerun", run), "dt-btn dt-btn-small"),
    ];
    setChildren(this.head, ...parts);
    if (run.error_message) {
      this.head.appendChild(
        h("div", { class: "dt-small dt-err-cell", testid: "dt-run-error", title: run.error_message, text: excerpt(run.error_message, 220) }),
      );
    }
  }

  private renderLegend(): void {
    const g = this.graph;
    if (!g) return;
    const counts = new Map<string, number>();
    let reused = 0;
    for (const t of g.tasks) {
      counts.set(t.state, (counts.get(t.state) ?? 0) + 1);
      if (t.reused_from_run !== null && t.reused_from_run !== undefined) reused++;
    }
    const known = RUN_STATES.filter((s) => counts.has(s));
    const other = [...counts.keys()].filter((s) => !(RUN_STATES as readonly string[]).includes(s));
    const items: HTMLElement[] = [...known, ...other].map((s) =>
      h("span", { attrs: { "data-state": s } }, stateDot(s), `${stateLabel(s)} ${formatCount(counts.get(s) ?? 0)}`),
    );
    if (reused) items.push(h("span", {}, h("span", { class: "dt-swatch-reused" }), `reused ${formatCount(reused)}`));
    if (this.decor.plan) {
      const n = { execute: 0, reuse: 0, skip: 0 };
      for (const a of this.decor.plan.values()) n[a]++;
      items.push(h("span", { testid: "dt-dag-plan-legend" }, `Rerun preview: run ${n.execute} · reuse ${n.reuse} · skip ${n.skip}`));
    }
    setChildren(this.legend, ...items);
  }

  private click(ev: MouseEvent): void {
    if (!this.renderer || !this.graph) return;
    const i = this.renderer.nodeAt(ev);
    if (i >= 0) setTraits(this.ctx, { selected_task: this.graph.tasks[i].id });
  }

  private syncSelection(redraw = true): void {
    const g = this.graph;
    if (!g) return;
    const id = selectedTask(this.ctx);
    const i = g.index.get(id);
    this.decor.selected = i ?? -1;
    if (id >= 0 && i === undefined) setTraits(this.ctx, { selected_task: -1 });
    if (redraw) this.renderer?.restyle(g, this.decor);
  }

  private applyPlan(redraw = true): void {
    const g = this.graph;
    if (!g) return;
    if (this.plan && this.plan.runId === this.runId) {
      const plan = this.plan;
      const map = new Map<number, PlanAction>();
      g.tasks.forEach((t, i) => {
        const action = plan.sameVersion ? plan.byId.get(t.id) : plan.byName.get(t.name);
        if (action) map.set(i, action);
      });
      this.decor.plan = map;
    } else this.decor.plan = null;
    if (redraw) {
      this.renderer?.restyle(g, this.decor);
      this.renderLegend();
    }
  }

  /** Highlight tasks whose name contains the query; `next` moves to the next match and centres it. */
  private search(next: boolean, centre = true): void {
    const g = this.graph;
    if (!g) return;
    const q = this.find.value.trim().toLowerCase();
    if (!q && !this.decor.matches.size && this.decor.current < 0) {
      this.findCount.textContent = ""; // nothing was or is found: no restyle (a big graph would be painted again)
      return;
    }
    const matches: number[] = [];
    if (q) {
      g.tasks.forEach((t, i) => {
        if (t.name.toLowerCase().includes(q) || q === `#${t.id}`) matches.push(i);
      });
    }
    const pos = matches.indexOf(this.decor.current);
    const cur = matches.length ? matches[next && pos >= 0 ? (pos + 1) % matches.length : Math.max(0, pos)] : -1;
    this.decor.matches = new Set(matches);
    this.decor.current = cur;
    this.findCount.textContent = !q ? "" : matches.length ? `${matches.indexOf(cur) + 1} of ${formatCount(matches.length)}` : "no match";
    this.renderer?.restyle(g, this.decor);
    // zoom in at least to where the found task's label is drawn (with its duration on two-line nodes)
    const readable = g.geom.subFont ? MIN_LABEL_PX / g.geom.subFont : labelZoom(g.geom);
    if (cur >= 0 && centre) this.viewport.centreOn(g.layout.x[cur], g.layout.y[cur], readable + 1e-3);
  }

  /** The whole graph in view; where that is too far out to read names it is drawn as an overview. */
  private fit(): void {
    const g = this.graph;
    if (g) this.viewport.fit(g.layout.width, g.layout.height);
  }
}
