// The DAG panel of the selected run: run header, find box, zoom and fit, legend, and the graph (SVG, or canvas
// for large runs) laid out off the main thread. Clicking a task selects it; running runs are polled.
import { type Ctx, type PlanOverlay, listen, onTraits, selectedRun, selectedTask, setTraits } from "./app";
import { CanvasRenderer } from "./dagcanvas";
import {
  type Decor,
  type Graph,
  type Renderer,
  SVG_MAX_NODES,
  emptyDecor,
  layoutInput,
  structureKey,
} from "./dagmodel";
import { SvgRenderer } from "./dagsvg";
import { button, h, setChildren } from "./dom";
import { elapsed, excerpt, formatCount, formatDuration, formatTime, isActive, plural, stateLabel } from "./format";
import type { LayoutResult } from "./layout";
import { LayoutClient } from "./layoutclient";
import { Latest } from "./protocol";
import { type PlanAction, RUN_STATES, type RunDetail, type RunSummary } from "./types";
import { errorBox, loading, note, stateDot, statePill } from "./ui";
import { Viewport } from "./viewport";

const POLL_MS = 2000;
const CACHE_SIZE = 6;

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
  private readonly status = h("div", { class: "dt-dagstatus", testid: "dt-dag-status" });
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
  private plan: PlanOverlay | null = null;

  constructor(private readonly ctx: Ctx) {
    const d = ctx.d;
    d.add(() => {
      this.latest.cancel();
      this.layouts.dispose();
      this.renderer?.dispose();
    });
    this.viewport = new Viewport(this.view, d, (t) => this.renderer?.transform(t), (ev) => this.click(ev));
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
    );
    this.el = h("section", { class: "dt-dagpanel", testid: "dt-dag", attrs: { "aria-label": "Run graph" } }, this.head, bar, this.view, this.status);
    if (typeof ResizeObserver !== "undefined") {
      const ro = new ResizeObserver(() => {
        if (this.viewport.fitted) this.fit();
        else this.renderer?.transform(this.viewport.t);
      });
      ro.observe(this.view);
      d.add(() => ro.disconnect());
    }
    onTraits(ctx, ["selected_run"], () => void this.load(selectedRun(ctx)));
    onTraits(ctx, ["selected_task"], () => this.syncSelection());
    listen(ctx, "refresh", () => void this.load(this.runId, true));
    listen(ctx, "plan", (plan) => {
      this.plan = plan;
      this.applyPlan();
    });
    d.interval(() => {
      if (!this.busy && this.runId && this.ctx.run && isActive(this.ctx.run.run.state)) void this.load(this.runId, true);
    }, POLL_MS);
    void this.load(selectedRun(ctx));
  }

  private async load(runId: number, quiet = false): Promise<void> {
    const signal = this.latest.next();
    if (runId !== this.runId) quiet = false;
    this.runId = runId;
    if (!runId) {
      this.clear(note("Select a run in the table to see its tasks.", "dt-dag-empty"));
      return;
    }
    if (!quiet) this.clear(loading(`Loading run #${runId}…`, "dt-dag-loading"));
    this.busy = true;
    try {
      const detail = await this.ctx.api.request("get-run", { run_id: runId }, { signal });
      await this.show(detail);
    } catch (err) {
      if (signal.aborted) return;
      const box = errorBox(`Could not load run #${runId}`, err, () => void this.load(runId), "dt-dag-error");
      if (box && !quiet) this.clear(box);
      else if (box) this.status.textContent = box.textContent ?? "";
    } finally {
      if (!signal.aborted) this.busy = false;
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
    setChildren(this.view, content);
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
      return;
    }
    const gen = ++this.generation;
    if (tasks.length > 200) this.setView(loading(`Laying out ${formatCount(tasks.length)} tasks…`, "dt-dag-layout"));
    const { input, index } = layoutInput(tasks);
    const t0 = performance.now();
    let layout = this.cache.get(key);
    const cached = layout !== undefined;
    try {
      layout ??= await this.layouts.layout(input);
    } catch (err) {
      if (gen === this.generation) this.setView(errorBox("Could not lay out the graph", err) ?? note(""));
      return;
    }
    if (gen !== this.generation) return;
    this.cache.set(key, layout);
    if (this.cache.size > CACHE_SIZE) this.cache.delete(this.cache.keys().next().value ?? "");
    const t1 = performance.now();
    const renderer: Renderer = tasks.length > SVG_MAX_NODES ? new CanvasRenderer() : new SvgRenderer();
    this.setView(renderer.el);
    this.renderer = renderer;
    this.structure = key;
    this.graph = { tasks, index, edges: input.edges, layout };
    this.decor = emptyDecor();
    this.syncSelection(false);
    this.applyPlan(false);
    renderer.draw(this.graph, this.decor);
    this.fit();
    if (renderer instanceof CanvasRenderer) renderer.paintNow();
    this.search(false, false);
    const t2 = performance.now();
    const where = cached ? "cached" : this.layouts.lastMode;
    this.status.textContent =
      `${plural(tasks.length, "task")} · layout ${Math.round(t1 - t0)} ms (${layout.engine}, ${where}) · ` +
      `draw ${Math.round(t2 - t1)} ms (${renderer.kind})`;
    Object.assign(this.el.dataset, {
      layoutMs: String(Math.round(t1 - t0)),
      drawMs: String(Math.round(t2 - t1)),
      engine: layout.engine,
      renderer: renderer.kind,
      runId: String(detail.run.run_id),
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
    this.view.replaceChildren(content);
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
    if (cur >= 0 && centre) this.viewport.centreOn(g.layout.x[cur], g.layout.y[cur]);
  }

  private fit(): void {
    const g = this.graph;
    // Small graphs stay readable: never shrink them below 60 %.
    if (g) this.viewport.fit(g.layout.width, g.layout.height, g.tasks.length <= 200 ? 0.6 : 0);
  }
}
