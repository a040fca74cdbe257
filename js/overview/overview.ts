// The workflows overview (no workflow selected): every workflow of the env with its tasks, latest version, state,
// schedule and next run, last 10 runs (each opens that run), success rate, median duration and weekly activity;
// above them the env's activity heatmap, whose brush sets the date range. Paged by the store (cursors).
import { type Ctx, listen, onTraits, setTraits } from "../app";
import { button, h, setChildren } from "../dom";
import { DASH, formatCount, formatDuration, formatTime, plural, stateLabel } from "../format";
import { Latest } from "../protocol";
import type { WorkflowOverview } from "../types";
import { errorBox, loading, note, stateDot, statePill } from "../ui";
import { Heatmap, brushRange, cellLabel, miniHeatmap, sumHeatmaps } from "./heatmap";

export const SORTS: [string, string][] = [
  ["name", "Name"],
  ["-last_run", "Latest run"],
  ["-runs", "Most runs"],
  ["state", "State"],
  ["success_rate", "Success rate (lowest)"],
  ["-median_duration", "Median duration (longest)"],
];
const PAGE = 50;
const DAYS = 30;

export class OverviewPanel {
  readonly el: HTMLElement;
  private readonly filter = h("input", {
    class: "dt-input",
    testid: "dt-ov-filter",
    attrs: { type: "search", placeholder: "Filter by name…", "aria-label": "Filter workflows by name", spellcheck: "false" },
  });
  private readonly sort = h("select", { class: "dt-input", testid: "dt-ov-sort", attrs: { "aria-label": "Sort workflows" } });
  private readonly status = h("div", { testid: "dt-ov-status" });
  private readonly body = h("div", { class: "dt-ov-body", testid: "dt-ov-body" });
  private readonly range = h("span", { class: "dt-muted", testid: "dt-ov-range" });
  private readonly brushNote = h("div", { class: "dt-muted dt-small", testid: "dt-ov-brush-note" });
  private readonly prev: HTMLButtonElement;
  private readonly next: HTMLButtonElement;
  private readonly heatmap: Heatmap;
  private readonly latest = new Latest();
  private cursors: (string | null)[] = [null];
  private nextCursor: string | null = null;
  private rows: WorkflowOverview[] = [];
  private total = 0;
  private loadedKey = "";
  private filterTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly ctx: Ctx) {
    for (const [value, label] of SORTS) this.sort.appendChild(h("option", { text: label, attrs: { value } }));
    this.prev = button("‹ Prev", "dt-ov-prev", () => this.go(-1));
    this.next = button("Next ›", "dt-ov-next", () => this.go(1));
    this.heatmap = new Heatmap((a, b) => this.brushed(a, b));
    ctx.d.add(() => this.latest.cancel());
    ctx.d.add(() => clearTimeout(this.filterTimer));
    ctx.d.listen(this.filter, "input", () => {
      clearTimeout(this.filterTimer);
      this.filterTimer = setTimeout(() => this.reset(), 250);
    });
    ctx.d.listen(this.sort, "change", () => this.reset());
    this.el = h(
      "section",
      { class: "dt-overview", testid: "dt-overview", attrs: { "aria-label": "Workflows overview", hidden: "" } },
      h(
        "div",
        { class: "dt-ov-top" },
        h(
          "div",
          { class: "dt-ov-activity" },
          h("div", { class: "dt-ov-heading", text: `Activity, last ${DAYS} days (UTC) — drag over cells to set the date range` }),
          this.heatmap.el,
          h(
            "div",
            { class: "dt-ov-legend dt-small dt-muted" },
            legend("completed", "all completed"),
            legend("failed", "some failed"),
            legend("created", "other"),
          ),
          this.brushNote,
        ),
      ),
      h("div", { class: "dt-ov-toolbar" }, this.filter, h("label", { class: "dt-field" }, h("span", { class: "dt-label", text: "Sort" }), this.sort)),
      this.status,
      this.body,
      h("div", { class: "dt-pager" }, this.range, this.prev, this.next),
    );
    onTraits(ctx, ["workflow", "env"], () => this.sync());
    listen(ctx, "refresh", () => {
      if (!this.el.hidden) void this.load(true);
    });
    this.sync();
  }

  /** Shown when no workflow is selected; loads on first show and when the env changes. */
  private sync(): void {
    const visible = !this.ctx.model.get("workflow");
    this.el.hidden = !visible;
    if (!visible) return;
    const key = this.ctx.model.get("env") ?? "";
    if (key !== this.loadedKey) {
      this.loadedKey = key;
      this.reset();
    }
  }

  private reset(): void {
    this.cursors = [null];
    void this.load();
  }

  private go(step: number): void {
    if (step > 0 && this.nextCursor) this.cursors.push(this.nextCursor);
    else if (step < 0 && this.cursors.length > 1) this.cursors.pop();
    else return;
    void this.load();
  }

  private async load(quiet = false): Promise<void> {
    const signal = this.latest.next();
    if (!quiet || !this.rows.length) setChildren(this.status, loading("Loading workflows…", "dt-ov-loading"));
    this.prev.disabled = this.next.disabled = true;
    try {
      const res = await this.ctx.api.request(
        "overview",
        {
          env: this.ctx.model.get("env") ?? "",
          filter: this.filter.value.trim(),
          sort: this.sort.value || "name",
          limit: PAGE,
          cursor: this.cursors[this.cursors.length - 1],
          days: DAYS,
        },
        { signal, timeoutMs: 60_000 },
      );
      this.rows = res.workflows;
      this.total = res.total;
      this.nextCursor = res.next_cursor ?? null;
      this.status.replaceChildren();
      this.render();
    } catch (err) {
      const box = errorBox("Could not load the workflows overview", err, () => void this.load(), "dt-ov-error");
      if (box) setChildren(this.status, box);
      this.renderPager();
    }
  }

  private brushed(a: number, b: number): void {
    const range = brushRange(a, b);
    setTraits(this.ctx, range);
    const lo = Math.min(a, b);
    const hi = Math.max(a, b);
    this.brushNote.textContent =
      `Date range set to the latest ${cellLabel(lo)}–${cellLabel(hi + 1 > 167 ? 0 : hi + 1).slice(4)} UTC ` +
      `(${formatTime(range.start)} – ${formatTime(range.end)}); open a workflow to see its runs in it.`;
  }

  private render(): void {
    this.renderPager();
    this.heatmap.setData(sumHeatmaps(this.rows.map((r) => r.heatmap ?? [])));
    if (!this.rows.length) {
      setChildren(this.body, note(this.filter.value ? "No workflow matches this filter." : "No workflows in this environment yet.", "dt-ov-empty"));
      return;
    }
    const head = h(
      "tr",
      {},
      ...["Workflow", "Tasks", "Version", "State", "Schedule", "Last 10 runs", "Success", "Median", "Activity"].map((c) => h("th", { text: c })),
    );
    const tbody = h("tbody");
    for (const w of this.rows) tbody.appendChild(this.row(w));
    setChildren(this.body, h("div", { class: "dt-runs-scroll" }, h("table", { class: "dt-table dt-ov-table", testid: "dt-ov-table" }, h("thead", {}, head), tbody)));
  }

  private row(w: WorkflowOverview): HTMLTableRowElement {
    const open = button(w.name, "dt-ov-open", () => setTraits(this.ctx, { workflow: w.key, selected_run: 0, selected_task: -1 }), "dt-btn-link dt-ov-name");
    open.title = `Open the runs of ${w.name} (${plural(w.n_runs, "run")})`;
    const strip = h("span", { class: "dt-ov-strip", testid: "dt-ov-strip" });
    // oldest on the left, newest on the right, as a timeline reads
    for (const r of [...(w.recent ?? [])].reverse()) {
      const cell = h("button", {
        class: "dt-ov-run",
        testid: "dt-ov-run",
        title: `#${r.run_id} · ${stateLabel(r.state)} · ${formatTime(r.start_time)} · ${formatDuration(r.duration)}`,
        attrs: { type: "button", "data-run-id": String(r.run_id), "data-state": r.state, "aria-label": `Open run ${r.run_id} (${stateLabel(r.state)})` },
      });
      cell.appendChild(stateDot(r.state, ""));
      cell.addEventListener("click", () => setTraits(this.ctx, { workflow: w.key, selected_run: r.run_id, selected_task: -1 }));
      strip.appendChild(cell);
    }
    const schedule = w.schedule_text
      ? h(
          "span",
          { class: "dt-ov-schedule", title: w.schedule ?? "" },
          h("span", { text: w.schedule_text }),
          w.next_run ? h("span", { class: "dt-muted dt-small", text: `next: ${formatTime(w.next_run)}` }) : null,
        )
      : h("span", { class: "dt-muted", text: "not scheduled" });
    const rate = w.success_rate === null || w.success_rate === undefined ? DASH : `${Math.round(w.success_rate * 100)}%`;
    const tr = h(
      "tr",
      { testid: "dt-ov-row", attrs: { "data-workflow": w.key } },
      h("td", {}, open),
      h("td", { class: "dt-num", text: formatCount(w.n_tasks) }),
      h("td", { class: "dt-num", text: w.latest_version ? `v${w.latest_version}` : DASH }),
      h("td", {}, w.state ? statePill(w.state) : h("span", { class: "dt-muted", text: "no runs" })),
      h("td", {}, schedule),
      h("td", {}, strip),
      h("td", { class: "dt-num", title: `${w.completed} completed, ${w.failed} failed of ${w.window_runs} runs in ${DAYS} days`, text: rate }),
      h("td", { class: "dt-num", text: formatDuration(w.median_duration) }),
      h("td", {}, miniHeatmap(w.heatmap ?? []) as unknown as HTMLElement),
    );
    return tr;
  }

  private renderPager(): void {
    const page = this.cursors.length - 1;
    const first = page * PAGE + 1;
    this.range.textContent = this.rows.length
      ? `${formatCount(first)}–${formatCount(first + this.rows.length - 1)} of ${plural(this.total, "workflow")}`
      : `0 of ${plural(this.total, "workflow")}`;
    this.prev.disabled = page === 0;
    this.next.disabled = !this.nextCursor;
  }
}

function legend(state: string, text: string): HTMLElement {
  return h("span", { class: "dt-ov-key" }, stateDot(state, text), text);
}
