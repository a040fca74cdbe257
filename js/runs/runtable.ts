// The run table: one page of root runs from the store (cursor paging, never the whole history), reruns nested
// under their original run, a Rerun button per row; a click selects the run for the DAG panel.
import { type Ctx, listen, liveHas, onTraits, selectedRun, setTraits } from "../app";
import { button, h, setChildren } from "../dom";
import { DASH, elapsed, excerpt, formatCount, formatDuration, formatTime, isActive, plural, stateLabel } from "../format";
import { Latest } from "../protocol";
import type { RunSummary } from "../types";
import { errorBox, loading, statePill } from "../ui";
import { mergePage, sameRows } from "./livemerge";

const AUTO_REFRESH_MS = 15_000;
/** Running rows' durations tick this often. */
const TICK_MS = 1000;

type Family = RunSummary[] | "loading" | { error: unknown };

export class RunTable {
  readonly el: HTMLElement;
  private readonly body = h("div", { class: "dt-runs-body", testid: "dt-runs-body" });
  private readonly status = h("div", { testid: "dt-runs-status" });
  private readonly range = h("span", { testid: "dt-page-range" });
  private readonly compareBar = h("div", { class: "dt-compare-bar", testid: "dt-compare-bar", attrs: { hidden: "" } });
  /** "n new runs": runs that arrived since the rows on screen were loaded, shown on click. */
  private readonly marker = button("", "dt-new-runs", () => this.showHeld(), "dt-new-runs");
  private held: { runs: RunSummary[]; total: number; nextCursor: string | null } | null = null;
  /** Runs ticked for comparison, in the order ticked (at most two). */
  private picked: number[] = [];
  private readonly prev: HTMLButtonElement;
  private readonly next: HTMLButtonElement;
  private cursors: (string | null)[] = [null];
  private runs: RunSummary[] = [];
  private total = 0;
  private nextCursor: string | null = null;
  private loaded = false;
  private readonly families = new Map<number, Family>();
  private readonly latest = new Latest();
  private readonly familyRequests = new Map<number, Latest>();

  constructor(private readonly ctx: Ctx) {
    this.prev = button("‹ Prev", "dt-page-prev", () => this.go(-1));
    this.next = button("Next ›", "dt-page-next", () => this.go(1));
    this.el = h(
      "section",
      { class: "dt-runs", testid: "dt-runs", attrs: { "aria-label": "Runs" } },
      this.status,
      this.compareBar,
      this.marker,
      this.body,
      h("div", { class: "dt-pager" }, this.range, this.prev, this.next),
    );
    this.marker.hidden = true;
    ctx.d.add(() => this.latest.cancel());
    onTraits(ctx, ["workflow", "env", "start", "end", "states", "page_size"], () => this.reset());
    onTraits(ctx, ["selected_run"], () => this.markSelected());
    listen(ctx, "refresh", () => void this.load(true, false, true));
    // the kernel pushed a fresher page (a new run, a state change): rows keep their place, new runs wait
    listen(ctx, "live", (keys) => {
      if (this.loaded && liveHas(keys, "list-runs")) void this.load(true, true);
    });
    ctx.d.interval(() => this.tick(), TICK_MS);
    listen(ctx, "rerun-created", (run) => void this.showNewRun(run));
    // the DAG polls the selected run faster than the table: when it sees a new state, refresh the rows
    listen(ctx, "run-detail", (detail) => {
      const shown = detail ? this.shownState(detail.run.run_id) : undefined;
      if (detail && shown !== undefined && shown !== detail.run.state) void this.load(true, true);
    });
    ctx.d.interval(() => {
      if (this.anyActive()) void this.load(true, true);
    }, AUTO_REFRESH_MS);
    void this.load();
  }

  private reset(): void {
    this.picked = [];
    this.renderCompareBar();
    this.cursors = [null];
    this.families.clear();
    void this.load();
  }

  private go(step: number): void {
    if (step > 0 && this.nextCursor) this.cursors.push(this.nextCursor);
    else if (step < 0 && this.cursors.length > 1) this.cursors.pop();
    else return;
    void this.load();
  }

  private pageSize(): number {
    const n = this.ctx.model.get("page_size");
    return typeof n === "number" && n > 0 ? Math.min(200, n) : 25;
  }

  /** Fetch the current page; `quiet` keeps the rows on screen while it loads (refresh, polling); `hold` keeps
   * new runs behind the marker; `fresh` asks the kernel even when it pushed the page. */
  private async load(quiet = false, hold = false, fresh = false): Promise<void> {
    const signal = this.latest.next();
    const m = this.ctx.model;
    if (!quiet || !this.loaded) setChildren(this.status, loading("Loading runs…", "dt-runs-loading"));
    this.prev.disabled = this.next.disabled = true;
    const query = {
      workflow: m.get("workflow") ?? "",
      env: m.get("env") ?? "",
      start: m.get("start") ?? "",
      end: m.get("end") ?? "",
      states: [...(m.get("states") ?? [])],
      cursor: this.cursors[this.cursors.length - 1],
      limit: this.pageSize(),
    };
    this.ctx.bus.emit("runs-query", query);
    try {
      const res = await this.ctx.api.request("list-runs", query, { signal, fresh });
      const before = this.runs;
      const page = { runs: res.runs, total: res.total, nextCursor: res.next_cursor ?? null };
      const merged = hold && this.loaded && this.cursors.length === 1 ? mergePage(before, res.runs) : null;
      if (merged?.held.length) {
        this.held = page;
        this.runs = merged.runs;
        this.total = Math.max(this.total, res.total - merged.held.length);
      } else {
        this.held = null;
        this.runs = page.runs;
        this.total = page.total;
        this.nextCursor = page.nextCursor;
      }
      this.loaded = true;
      this.status.replaceChildren();
      this.renderMarker(merged?.held.length ?? 0);
      if (quiet) for (const id of this.families.keys()) void this.loadFamily(id, true);
      if (quiet && sameRows(before, this.runs)) this.patch(before);
      else this.render();
    } catch (err) {
      const box = errorBox("Could not load runs", err, () => void this.load(), "dt-runs-error");
      if (box) setChildren(this.status, box);
      this.renderPager();
    }
  }

  private renderMarker(n: number): void {
    this.marker.hidden = n === 0;
    this.marker.textContent = n ? `↑ ${plural(n, "new run")} — show` : "";
    this.marker.title = n ? "Runs that started since this page was loaded; click to show them" : "";
  }

  /** Show the runs held behind the marker. */
  private showHeld(): void {
    const held = this.held;
    if (!held) return;
    this.held = null;
    this.runs = held.runs;
    this.total = held.total;
    this.nextCursor = held.nextCursor;
    this.renderMarker(0);
    this.render();
  }

  /** Same rows as before: replace only the rows whose run changed (the others stay, hover and focus too). */
  private patch(before: RunSummary[]): void {
    this.renderPager();
    const allWorkflows = !this.ctx.model.get("workflow");
    for (const [i, run] of this.runs.entries()) {
      if (JSON.stringify(run) === JSON.stringify(before[i])) continue;
      const tr = this.body.querySelector<HTMLTableRowElement>(`tr[data-run-id="${run.run_id}"]:not(.dt-rerun-row)`);
      if (!tr) {
        this.render();
        return;
      }
      tr.replaceWith(this.row(run, false, allWorkflows));
    }
    this.markSelected();
  }

  /** Running rows' durations count up. */
  private tick(): void {
    for (const tr of this.body.querySelectorAll<HTMLTableRowElement>("tr[data-started]")) {
      const td = tr.querySelector<HTMLElement>('td[data-col="duration"]');
      if (td) td.textContent = `${formatDuration(elapsed(tr.dataset.started ?? null, null))}…`;
    }
  }

  private async loadFamily(rootId: number, quiet = false): Promise<void> {
    let latest = this.familyRequests.get(rootId);
    if (!latest) this.familyRequests.set(rootId, (latest = new Latest()));
    const signal = latest.next();
    if (!quiet) {
      this.families.set(rootId, "loading");
      this.render();
    }
    try {
      const res = await this.ctx.api.request("rerun-family", { run_id: rootId }, { signal });
      if (!this.families.has(rootId)) return;
      this.families.set(rootId, res.runs.filter((r) => r.run_id !== rootId));
    } catch (err) {
      if (signal.aborted || !this.families.has(rootId)) return;
      this.families.set(rootId, { error: err });
    }
    this.render();
  }

  private toggle(run: RunSummary): void {
    if (this.families.has(run.run_id)) this.families.delete(run.run_id);
    else void this.loadFamily(run.run_id);
    this.render();
  }

  /** A rerun was made: expand its family, select it, and refresh the page so the counts follow. */
  private async showNewRun(run: RunSummary): Promise<void> {
    const root = run.original_run_id ?? run.rerun_of ?? run.run_id;
    this.families.set(root, "loading");
    setTraits(this.ctx, { selected_run: run.run_id, selected_task: -1 });
    await this.load(true, false, true);
    await this.loadFamily(root, true);
  }

  private shownState(runId: number): string | undefined {
    const found = this.runs.find((r) => r.run_id === runId);
    if (found) return found.state;
    for (const f of this.families.values()) {
      const member = Array.isArray(f) ? f.find((r) => r.run_id === runId) : undefined;
      if (member) return member.state;
    }
    return undefined;
  }

  private anyActive(): boolean {
    if (this.runs.some((r) => isActive(r.state))) return true;
    for (const f of this.families.values()) if (Array.isArray(f) && f.some((r) => isActive(r.state))) return true;
    return false;
  }

  private render(): void {
    this.renderPager();
    if (!this.loaded) return;
    if (!this.runs.length) {
      setChildren(
        this.body,
        h("div", { class: "dt-note", testid: "dt-runs-empty" }, "No runs match these filters.", h("br"), h("span", { class: "dt-small", text: this.filterText() })),
      );
      return;
    }
    const allWorkflows = !this.ctx.model.get("workflow");
    const head = h("tr", {}, ...["", "", "Run", allWorkflows ? "Workflow" : null, "Start", "Duration", "State", "Version", "Trigger", "Error", ""]
      .filter((c): c is string => c !== null)
      .map((c) => h("th", { text: c })));
    const tbody = h("tbody");
    for (const run of this.runs) {
      tbody.appendChild(this.row(run, false, allWorkflows));
      const family = this.families.get(run.run_id);
      if (family === "loading") tbody.appendChild(this.wide(loading("Loading reruns…", "dt-family-loading"), allWorkflows));
      else if (Array.isArray(family)) for (const r of family) tbody.appendChild(this.row(r, true, allWorkflows));
      else if (family) {
        const box = errorBox("Could not load reruns", family.error, () => void this.loadFamily(run.run_id), "dt-family-error");
        if (box) tbody.appendChild(this.wide(box, allWorkflows));
      }
    }
    setChildren(
      this.body,
      h("div", { class: "dt-runs-scroll" }, h("table", { class: "dt-table", testid: "dt-runs-table" }, h("thead", {}, head), tbody)),
    );
    this.markSelected();
  }

  private wide(content: HTMLElement, allWorkflows: boolean): HTMLTableRowElement {
    const td = h("td", { attrs: { colspan: String(allWorkflows ? 11 : 10) } }, content);
    return h("tr", { class: "dt-rerun-row" }, td);
  }

  private row(run: RunSummary, nested: boolean, allWorkflows: boolean): HTMLTableRowElement {
    const tr = h("tr", { testid: "dt-run-row", attrs: { tabindex: "0", "data-run-id": String(run.run_id) } });
    if (nested) tr.classList.add("dt-rerun-row");
    let toggle: HTMLElement | string = "";
    if (!nested && run.n_reruns > 0) {
      const open = this.families.has(run.run_id);
      toggle = button(`${open ? "▼" : "▶"} ${plural(run.n_reruns, "rerun")}`, "dt-family-toggle", (ev) => {
        ev.stopPropagation();
        this.toggle(run);
      }, "dt-btn dt-btn-small dt-toggle");
      toggle.setAttribute("aria-expanded", String(open));
    }
    if (run.start_time && !run.end_time && isActive(run.state)) tr.dataset.started = run.start_time;
    const duration = run.start_time && !run.end_time && isActive(run.state)
      ? `${formatDuration(elapsed(run.start_time, null))}…`
      : formatDuration(elapsed(run.start_time, run.end_time));
    const err = run.error_message ?? "";
    const rerun = button("Rerun", "dt-rerun-button", (ev) => {
      ev.stopPropagation();
      this.ctx.bus.emit("open-rerun", run);
    }, "dt-btn dt-btn-small");
    const pick = h("input", {
      class: "dt-pick",
      testid: "dt-compare-pick",
      title: "Tick two runs to compare them",
      attrs: { type: "checkbox", "aria-label": `Compare run ${run.run_id}` },
    });
    pick.checked = this.picked.includes(run.run_id);
    pick.addEventListener("click", (ev) => ev.stopPropagation());
    pick.addEventListener("change", () => this.togglePick(run.run_id, pick.checked));
    const cells: (Node | string | null)[] = [
      pick,
      toggle,
      nested ? `↳ #${run.run_id}` : `#${run.run_id}`,
      allWorkflows ? run.workflow : null,
      formatTime(run.start_time ?? run.submit_time),
      duration,
      statePill(run.state),
      run.job_version ? `v${run.job_version}` : DASH,
      run.trigger || DASH,
      err ? h("span", { text: excerpt(err, 160), title: err }) : "",
      rerun,
    ];
    const columns = ["pick", "toggle", "run", "workflow", "start", "duration", "state", "version", "trigger", "error", "rerun"];
    for (const [i, c] of cells.entries()) {
      if (c === null) continue;
      const td = h("td", { attrs: { "data-col": columns[i] } }, c);
      if (columns[i] === "duration") td.className = "dt-num";
      if (columns[i] === "error") td.className = "dt-err-cell";
      tr.appendChild(td);
    }
    if (nested) tr.title = `Rerun of #${run.rerun_of ?? run.original_run_id ?? "?"}${run.partial_rerun ? " (partial)" : ""}`;
    const select = (): void => {
      if (selectedRun(this.ctx) !== run.run_id) setTraits(this.ctx, { selected_run: run.run_id, selected_task: -1 });
    };
    tr.addEventListener("click", select);
    tr.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && ev.target === tr) select();
    });
    return tr;
  }

  private togglePick(runId: number, on: boolean): void {
    this.picked = this.picked.filter((id) => id !== runId);
    if (on) this.picked.push(runId);
    if (this.picked.length > 2) this.picked = this.picked.slice(-2);
    for (const box of this.body.querySelectorAll<HTMLInputElement>("input.dt-pick")) {
      const id = Number(box.closest("tr")?.dataset.runId);
      box.checked = this.picked.includes(id);
    }
    this.renderCompareBar();
  }

  private renderCompareBar(): void {
    const [a, b] = this.picked;
    this.compareBar.hidden = this.picked.length === 0;
    if (!this.picked.length) {
      this.compareBar.replaceChildren();
      return;
    }
    const go = button(b === undefined ? "Compare: tick one more run" : `Compare #${a} with #${b}`, "dt-compare-go", () => {
      if (b !== undefined) this.ctx.bus.emit("compare", { a, b });
    }, "dt-btn dt-btn-small dt-btn-primary");
    go.disabled = b === undefined;
    const clear = button("Clear", "dt-compare-clear", () => {
      this.picked = [];
      this.togglePick(-1, false);
    }, "dt-btn-link dt-small");
    setChildren(this.compareBar, go, clear);
  }

  private markSelected(): void {
    const id = String(selectedRun(this.ctx));
    for (const tr of this.body.querySelectorAll<HTMLTableRowElement>("tr[data-run-id]")) {
      tr.classList.toggle("dt-selected", tr.dataset.runId === id);
      tr.setAttribute("aria-selected", String(tr.dataset.runId === id));
    }
  }

  private renderPager(): void {
    const page = this.cursors.length - 1;
    const size = this.pageSize();
    const first = page * size + 1;
    this.range.textContent = !this.loaded
      ? ""
      : this.runs.length
        ? `${formatCount(first)}–${formatCount(first + this.runs.length - 1)} of ${formatCount(this.total)}`
        : `0 of ${formatCount(this.total)}`;
    this.prev.disabled = page === 0;
    this.next.disabled = !this.nextCursor;
  }

  private filterText(): string {
    const m = this.ctx.model;
    const parts = [
      `workflow: ${m.get("workflow") || "all"}`,
      `env: ${m.get("env") || "all"}`,
      `from: ${m.get("start") ? formatTime(m.get("start")) : "any time"}`,
      `to: ${m.get("end") ? formatTime(m.get("end")) : "now"}`,
      `states: ${(m.get("states") ?? []).map(stateLabel).join(", ") || "all"}`,
    ];
    return parts.join(" · ");
  }
}
