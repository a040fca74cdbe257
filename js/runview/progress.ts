// The progress line of a run: its state, done / running / failed of n tasks, the time it has run, and a bar.
import type { AnyModel } from "@anywidget/types";
import { type Disposer, h, setChildren } from "../dom";
import { formatDuration, isActive, plural, stateStyle } from "../format";
import { statePill } from "../ui";
import type { Progress, RunModel } from "./types";

const FIELDS = ["run_state", "n_tasks", "n_done", "n_running", "n_failed", "elapsed", "following"] as const;

/** The words of the progress line, e.g. "3 of 6 done · 1 running · 0 failed · 4.2 s". */
export function progressText(p: Progress): string {
  const parts = [`${p.n_done} of ${plural(p.n_tasks, "task")} done`, `${p.n_running} running`, `${p.n_failed} failed`];
  const rest = p.n_tasks - p.n_done - p.n_running - p.n_failed;
  if (rest > 0 && !isActive(p.run_state)) parts.push(`${rest} did not finish`);
  return `${parts.join(" · ")} · ${formatDuration(p.elapsed)}`;
}

/** Bar segments as fractions of the run's tasks, in the order drawn. */
export function segments(p: Progress): { state: string; share: number; count: number }[] {
  const n = Math.max(1, p.n_tasks);
  return [
    { state: "completed", count: p.n_done },
    { state: "failed", count: p.n_failed },
    { state: "running", count: p.n_running },
  ]
    .filter((s) => s.count > 0)
    .map((s) => ({ ...s, share: Math.min(1, s.count / n) }));
}

export class ProgressLine {
  readonly el: HTMLElement;
  private readonly state = h("span", { testid: "dt-progress-state" });
  private readonly text = h("span", { class: "dt-progress-text", testid: "dt-progress-text" });
  private readonly live = h("span", { class: "dt-small dt-muted", testid: "dt-progress-live" });
  private readonly bar = h("div", {
    class: "dt-progress-bar",
    testid: "dt-progress-bar",
    attrs: { role: "progressbar", "aria-valuemin": "0" },
  });

  constructor(
    private readonly model: AnyModel<RunModel>,
    d: Disposer,
  ) {
    this.el = h(
      "div",
      { class: "dt-progress", testid: "dt-progress", attrs: { "aria-live": "polite" } },
      h("div", { class: "dt-progress-head" }, this.state, this.text, this.live),
      this.bar,
    );
    const update = (): void => this.render();
    for (const f of FIELDS) {
      model.on(`change:${f}`, update);
      d.add(() => model.off(`change:${f}`, update));
    }
    this.render();
  }

  private progress(): Progress {
    const m = this.model;
    const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);
    return {
      run_state: String(m.get("run_state") ?? ""),
      n_tasks: num(m.get("n_tasks")),
      n_done: num(m.get("n_done")),
      n_running: num(m.get("n_running")),
      n_failed: num(m.get("n_failed")),
      elapsed: num(m.get("elapsed")),
    };
  }

  render(): void {
    const p = this.progress();
    setChildren(this.state, statePill(p.run_state || "unknown", "dt-progress-pill"));
    this.text.textContent = progressText(p);
    this.live.textContent = this.model.get("following") ? "following the run" : "";
    this.el.dataset.state = p.run_state;
    this.bar.setAttribute("aria-valuemax", String(p.n_tasks));
    this.bar.setAttribute("aria-valuenow", String(p.n_done + p.n_failed));
    this.bar.setAttribute("aria-label", this.text.textContent);
    setChildren(
      this.bar,
      ...segments(p).map((s) => {
        const seg = h("span", { class: "dt-progress-seg", attrs: { "data-state": s.state } });
        seg.style.width = `${(s.share * 100).toFixed(2)}%`;
        seg.style.background = stateStyle(s.state).background;
        return seg;
      }),
    );
  }
}
