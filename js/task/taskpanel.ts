// The task panel: the selected task's header and its Stdout / Stderr / Result / Details tabs.
import { type Ctx, listen, onTraits, selectedRun, selectedTask, setTraits } from "../app";
import { button, h, setChildren } from "../dom";
import { elapsed, formatBytes, formatDuration, formatTime, isActive, stateLabel } from "../format";
import { LogView } from "../logs/logview";
import { ResultView, returnedNone } from "../results/resultview";
import type { RunDetail, TaskRun } from "../types";
import { statePill } from "../ui";
import { debugButton } from "./debugcell";
import { argumentText, upstreamOf } from "../arguments";

export type Tab = "stdout" | "stderr" | "result" | "details";
const TABS: [Tab, string][] = [
  ["stdout", "Stdout"],
  ["stderr", "Stderr"],
  ["result", "Result"],
  ["details", "Details"],
];

const FAILED = new Set(["failed", "failed_after", "out_of_memory"]);

/** A task that ended in failure (its error is the first thing to read). */
export function isFailed(t: TaskRun): boolean {
  return FAILED.has(t.state) || (!isActive(t.state) && t.error !== null && t.error !== undefined);
}

/**
 * The tab a task opens on: a failure on what shows it (stderr when it wrote any, else the error in Details), a
 * running task on its live stdout, others on stdout, or the tab that has something when stdout is empty.
 */
export function defaultTab(t: TaskRun): Tab {
  if (isFailed(t)) return t.stderr_bytes > 0 ? "stderr" : "details";
  if (isActive(t.state)) return "stdout";
  if (t.stdout_bytes > 0) return "stdout";
  if (t.stderr_bytes > 0) return "stderr";
  if (t.result) return "result";
  return "stdout";
}

interface View {
  el: HTMLElement;
  dispose(): void;
}

export class TaskPanel {
  readonly el: HTMLElement;
  private readonly head = h("div", { class: "dt-taskhead", testid: "dt-task-header" });
  private readonly body = h("div", { class: "dt-tabbody", testid: "dt-task-body" });
  private readonly tabs = new Map<Tab, HTMLButtonElement>();
  private active: Tab = "stdout";
  /** The tab was chosen by hand for the task shown (a new task opens on its own default again). */
  private chosen = false;
  private readonly views = new Map<Tab, View>();
  private key = "";
  private shownTask = "";

  constructor(private readonly ctx: Ctx) {
    const bar = h("div", { class: "dt-tabs", attrs: { role: "tablist" } });
    for (const [tab, label] of TABS) {
      const b = h("button", { class: "dt-tab", testid: `dt-tab-${tab}`, text: label, attrs: { type: "button", role: "tab" } });
      b.addEventListener("click", () => {
        this.chosen = true;
        this.select(tab);
      });
      this.tabs.set(tab, b);
      bar.appendChild(b);
    }
    this.el = h("section", { class: "dt-taskpanel", testid: "dt-task-panel", attrs: { hidden: "", "aria-label": "Task" } }, this.head, bar, this.body);
    ctx.d.add(() => this.reset());
    onTraits(ctx, ["selected_task", "selected_run"], () => this.sync());
    listen(ctx, "run-detail", () => this.sync());
    this.sync();
  }

  private task(): TaskRun | null {
    const run: RunDetail | null = this.ctx.run;
    const id = selectedTask(this.ctx);
    if (!run || id < 0 || run.run.run_id !== selectedRun(this.ctx)) return null;
    return run.tasks.find((t) => t.id === id) ?? null;
  }

  private sync(): void {
    const task = this.task();
    if (!task) {
      this.el.hidden = true;
      this.reset();
      this.key = "";
      return;
    }
    this.el.hidden = false;
    const key = `${task.run_id}/${task.id}`;
    this.renderHead(task);
    if (key !== this.key) {
      this.reset();
      this.key = key;
      this.chosen = false;
      this.select(defaultTab(task));
    } else if (JSON.stringify(task) !== this.shownTask) {
      // The run was polled and this task changed: the details tab shows the new values, and a task that has
      // just failed turns to its failure unless a tab was chosen by hand.
      this.views.get("details")?.dispose();
      this.views.delete("details");
      const next = this.chosen ? this.active : defaultTab(task);
      if (next !== this.active || this.active === "details") this.select(next);
    }
    this.shownTask = JSON.stringify(task);
  }

  private debug: { key: string; el: HTMLElement } | null = null;

  /** The Debug in cell button of the task shown (kept across polls so its status stays). */
  private debugFor(t: TaskRun): HTMLElement {
    const key = `${t.run_id}/${t.id}`;
    if (this.debug?.key !== key) this.debug = { key, el: debugButton(this.ctx, t.run_id, t.id) };
    return this.debug.el;
  }

  private renderHead(t: TaskRun): void {
    setChildren(
      this.head,
      h("span", { class: "dt-title", testid: "dt-task-title", text: t.name }),
      h("span", { class: "dt-muted", text: `run #${t.run_id} · task #${t.id}` }),
      statePill(t.state, "dt-task-state"),
      this.debugFor(t),
      button("✕", "dt-task-close", () => setTraits(this.ctx, { selected_task: -1 }), "dt-btn dt-btn-small dt-close"),
    );
  }

  private select(tab: Tab): void {
    this.active = tab;
    for (const [t, b] of this.tabs) b.setAttribute("aria-selected", String(t === tab));
    const task = this.task();
    if (!task) return;
    let view = this.views.get(tab);
    if (!view) {
      view = this.create(tab, task);
      view.el.dataset.testid ??= `dt-tabpanel-${tab}`;
      this.views.set(tab, view);
    }
    this.body.replaceChildren(view.el);
  }

  private create(tab: Tab, task: TaskRun): View {
    if (tab === "stdout" || tab === "stderr") return new LogView(this.ctx, task.run_id, task.id, tab);
    if (tab === "result") return new ResultView(this.ctx, task.run_id, task.id);
    return { el: details(this.ctx, task), dispose: () => undefined };
  }

  private reset(): void {
    for (const v of this.views.values()) v.dispose();
    this.views.clear();
    this.body.replaceChildren();
  }
}

function details(ctx: Ctx, t: TaskRun): HTMLElement {
  const rows: [string, Node | string][] = [
    ["State", stateLabel(t.state)],
    ["Started", formatTime(t.start_time)],
    ["Ended", formatTime(t.end_time)],
    ["Duration", formatDuration(elapsed(t.start_time, t.end_time))],
    ["Attempt", String(t.attempt)],
    ["Exit code", t.exit_code === null || t.exit_code === undefined ? "—" : String(t.exit_code)],
    ["Function", h("span", { class: "dt-mono", text: t.function || "—" })],
    ["Resources", Object.entries(t.resources ?? {}).map(([k, v]) => `${k}=${String(v)}`).join(", ") || "—"],
    ["Host", t.host || "—"],
    ["Depends on", depNames(ctx, t)],
    ["Arguments", argumentList(ctx, t)],
    ["Logs", `stdout ${formatBytes(t.stdout_bytes)} · stderr ${formatBytes(t.stderr_bytes)}`],
    ["Result", resultText(t)],
  ];
  const reused = t.reused_from_run;
  if (reused !== null && reused !== undefined) {
    rows.push([
      "Reused from",
      button(`run #${reused}`, "dt-reused-link", () => setTraits(ctx, { selected_run: reused, selected_task: t.id }), "dt-btn-link"),
    ]);
  }
  const dl = h("dl", { class: "dt-kv" });
  for (const [k, v] of rows) dl.append(h("dt", { text: k }), h("dd", {}, v));
  const out = h("div", { testid: "dt-details" });
  if (t.error) {
    // the failure first: a failed task without stderr opens here
    out.appendChild(
      h(
        "div",
        { testid: "dt-task-error" },
        h("div", { class: "dt-error" }, h("span", { text: `${t.error.type}: ${t.error.message}` })),
        t.error.traceback ? h("pre", { class: "dt-pre", testid: "dt-traceback", text: t.error.traceback }) : null,
      ),
    );
  }
  out.appendChild(dl);
  return out;
}

/** The task's arguments as recorded with its version: `name = literal`, or `name ← output of task`. */
function argumentList(ctx: Ctx, t: TaskRun): Node | string {
  const entries = Object.entries(t.arguments ?? {});
  if (!entries.length) return t.arguments ? "none" : "—";
  const names = new Map((ctx.run?.tasks ?? []).map((x) => [x.id, x.name]));
  const list = h("span", { class: "dt-args", testid: "dt-task-arguments" });
  entries.forEach(([name, value], i) => {
    const up = upstreamOf(value) !== null;
    if (i) list.append(document.createTextNode(" · "));
    list.appendChild(
      h("span", {
        class: "dt-mono",
        text: up ? `${name} ${argumentText(value, names)}` : `${name} = ${argumentText(value, names)}`,
        attrs: { "data-arg": name, "data-kind": up ? "upstream" : "literal" },
      }),
    );
  });
  return list;
}

function resultText(t: TaskRun): string {
  if (!t.result) return "none stored";
  if (returnedNone(t.result)) return "returned None";
  return `${t.result.python_type} · ${formatBytes(t.result.bytes)} · ${t.result.codec}`;
}

function depNames(ctx: Ctx, t: TaskRun): string {
  if (!t.dependencies?.length) return "—";
  const byId = new Map((ctx.run?.tasks ?? []).map((x) => [x.id, x.name]));
  return t.dependencies.map((d) => `${byId.get(d) ?? "?"} (#${d})`).join(", ");
}
