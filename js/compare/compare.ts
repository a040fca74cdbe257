// Compare two runs task by task (Client.compare): state in each, duration and its change, executed or reused,
// and how the result changed.
import type { Ctx } from "../app";
import { h, setChildren } from "../dom";
import { DASH, formatDuration, formatTime } from "../format";
import { Latest } from "../protocol";
import type { CompareRow, RunSummary } from "../types";
import { errorBox, loading, note, statePill } from "../ui";

export function changeText(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return DASH;
  if (Math.abs(seconds) < 0.05) return "±0 s";
  return `${seconds > 0 ? "+" : "−"}${formatDuration(Math.abs(seconds))}`;
}

function executedText(v: boolean | null): string {
  return v === null || v === undefined ? DASH : v ? "executed" : "reused";
}

export class CompareView {
  readonly el: HTMLElement;
  private readonly body = h("div", { testid: "dt-compare-body" });
  private readonly latest = new Latest();
  private pair: { a: number; b: number } | null = null;

  constructor(private readonly ctx: Ctx) {
    this.el = h("div", { class: "dt-compare", testid: "dt-compare" }, this.body);
    ctx.d.add(() => this.latest.cancel());
    this.empty();
  }

  private empty(): void {
    setChildren(this.body, note("Tick two runs in the run table (the boxes at the left of each row), then Compare.", "dt-compare-empty"));
  }

  get shown(): { a: number; b: number } | null {
    return this.pair;
  }

  async load(a: number, b: number): Promise<void> {
    this.pair = { a, b };
    const signal = this.latest.next();
    setChildren(this.body, loading(`Comparing #${a} with #${b}…`, "dt-compare-loading"));
    try {
      const res = await this.ctx.api.request("compare", { a, b }, { signal, timeoutMs: 120_000 });
      this.render(res.a, res.b, res.tasks);
    } catch (err) {
      const box = errorBox("Could not compare the runs", err, () => void this.load(a, b), "dt-compare-error");
      if (box) setChildren(this.body, box);
    }
  }

  private render(a: RunSummary, b: RunSummary, rows: CompareRow[]): void {
    const side = (r: RunSummary, label: string): HTMLElement =>
      h(
        "span",
        { class: "dt-compare-side" },
        h("b", { text: `${label} #${r.run_id}` }),
        statePill(r.state),
        h("span", { class: "dt-muted", text: `v${r.job_version ?? "?"} · ${formatTime(r.start_time ?? r.submit_time)}` }),
      );
    const changed = rows.filter((r) => r.state_a !== r.state_b || r.result_equal === false || r.executed_a !== r.executed_b).length;
    const head = h("tr", {}, ...["Task", "State A", "State B", "Duration A", "Duration B", "Change", "A", "B", "Result"].map((c) => h("th", { text: c })));
    const tbody = h("tbody");
    for (const r of rows) {
      const differs = r.state_a !== r.state_b || r.result_equal === false;
      const change = h("td", { class: "dt-num", text: changeText(r.duration_change_s) });
      if (r.duration_change_s && r.duration_change_s > 0.05) change.classList.add("dt-slower");
      if (r.duration_change_s && r.duration_change_s < -0.05) change.classList.add("dt-faster");
      const result = r.result_equal === true ? "equal" : r.result_change || (r.result_equal === false ? "differs" : DASH);
      const tr = h(
        "tr",
        { testid: "dt-compare-row", attrs: { "data-task": r.task, "data-differs": String(differs) } },
        h("td", { class: "dt-mono", text: r.task }),
        h("td", {}, r.state_a ? statePill(r.state_a) : h("span", { class: "dt-muted", text: "not in A" })),
        h("td", {}, r.state_b ? statePill(r.state_b) : h("span", { class: "dt-muted", text: "not in B" })),
        h("td", { class: "dt-num", text: formatDuration(r.duration_a_s) }),
        h("td", { class: "dt-num", text: formatDuration(r.duration_b_s) }),
        change,
        h("td", { class: "dt-muted", text: executedText(r.executed_a) }),
        h("td", { class: "dt-muted", text: executedText(r.executed_b) }),
        h("td", { class: r.result_equal === false ? "dt-compare-diff" : "dt-muted", text: result, title: result }),
      );
      tbody.appendChild(tr);
    }
    setChildren(
      this.body,
      h("div", { class: "dt-compare-head", testid: "dt-compare-head" }, side(a, "A"), h("span", { text: "vs" }), side(b, "B"),
        h("span", { class: "dt-muted", testid: "dt-compare-summary", text: `${rows.length} tasks, ${changed} differ` })),
      h("div", { class: "dt-runs-scroll" }, h("table", { class: "dt-table", testid: "dt-compare-table" }, h("thead", {}, head), tbody)),
    );
  }
}
