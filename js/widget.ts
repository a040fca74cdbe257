// The %dt_runs explorer (anywidget entry): header, run table, DAG panel, task panel and rerun dialog.
// render() returns a cleanup that removes listeners, stops timers and workers, and cancels pending requests.
import type { RenderProps } from "@anywidget/types";
import { Bus, type Ctx } from "./app";
import { ConnectionBanner } from "./connection";
import { DagPanel } from "./dag/dag";
import { prewarmLayoutWorker } from "./dag/layoutclient";
import { Disposer, h } from "./dom";
import { Header } from "./header/header";
import { LiveLink } from "./live";
import { OverviewPanel } from "./overview/overview";
import { Dispatcher } from "./protocol";
import { RerunDialog } from "./rerun/rerundialog";
import { labextActive } from "./results/resultview";
import { RunTable } from "./runs/runtable";
import { isRunView, renderRun } from "./runview/runview";
import type { RunModel } from "./runview/types";
import { injectStyles } from "./styles";
import { TaskPanel } from "./task/taskpanel";
import type { Model } from "./types";
import { RunViews } from "./views";

export type { Model };

/** When this module was evaluated (page clock): the start of the widget, as data-* marks for the benchmark. */
const MODULE_AT = performance.now();

function markStart(root: HTMLElement, api: Dispatcher, renderAt: number): () => void {
  root.dataset.moduleAt = MODULE_AT.toFixed(1);
  root.dataset.renderAt = renderAt.toFixed(1);
  return api.observe(() => {
    if (root.dataset.firstAnswerAt) return;
    root.dataset.firstSentAt = (api.firstSentAt ?? 0).toFixed(1);
    root.dataset.firstAnswerAt = (api.firstAnswerAt ?? 0).toFixed(1);
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function bytesOf(value: unknown): Uint8Array | null {
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (Object.prototype.toString.call(value) === "[object ArrayBuffer]") return new Uint8Array(value as ArrayBuffer);
  return null;
}

/** The first answers sent with the widget's state, `{kind, payload, answer}` as in live notices: the kernel sends
 * them as one binary buffer of UTF-8 JSON `[{kind, payload, response}]` (widget.py's pack_answers); an array is
 * taken as it is; [] when there are none or they are unreadable (the view then asks the kernel). */
export function readInitialAnswers(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  const bytes = bytesOf(value);
  if (!bytes?.length) return [];
  let list: unknown;
  try {
    list = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    console.error(`[datatailr] the first answers sent with the widget's state are not JSON: ${String(err)}`);
    return [];
  }
  if (!Array.isArray(list)) return [];
  return list.flatMap((a: unknown) =>
    isRecord(a) && isRecord(a.response) && isRecord(a.response.payload)
      ? [{ kind: a.kind, payload: a.payload, answer: a.response.payload }]
      : [],
  );
}

/** The number of tasks of the run among the first answers (0 when none is). */
function runSize(answers: unknown[]): number {
  for (const a of answers) {
    const found = a as { kind?: unknown; answer?: { n_tasks?: unknown } } | null;
    if (found?.kind === "get-run" && typeof found.answer?.n_tasks === "number") return found.answer.n_tasks;
  }
  return 0;
}

function render(props: RenderProps<Model>): () => void {
  // a RunMonitor: one run in a cell's output, without the explorer's pickers and run table
  if (isRunView(props.model)) return renderRun(props as unknown as RenderProps<RunModel>);
  const { model, el } = props;
  const renderAt = performance.now();
  const d = new Disposer();
  const root = h("div", { class: "dt-root", testid: "dt-explorer" });
  injectStyles(root);
  const api = new Dispatcher(model);
  const initial = readInitialAnswers(model.get("initial_answers"));
  prewarmLayoutWorker(runSize(initial)); // a big run's layout worker starts while its tasks are decoded
  api.seed(initial); // the table and the selected run without a round trip
  d.add(() => api.dispose());
  d.add(markStart(root, api, renderAt));
  const ctx: Ctx = { model, api, el, root, bus: new Bus(), d, labext: labextActive(), run: null };

  // Kernel notice (Explorer.refresh()): fetch everything on screen again.
  const onNotice = (msg: unknown): void => {
    if (typeof msg === "object" && msg !== null && (msg as { kind?: unknown }).kind === "refresh" && !("id" in msg)) {
      ctx.bus.emit("refresh", null);
    }
  };
  model.on("msg:custom", onNotice);
  d.add(() => model.off("msg:custom", onNotice));

  const banner = new ConnectionBanner(ctx);
  const live = new LiveLink(ctx);
  const header = new Header(ctx);
  const overview = new OverviewPanel(ctx);
  const runs = new RunTable(ctx);
  const dag = new DagPanel(ctx);
  const task = new TaskPanel(ctx);
  // no workflow selected: the overview of every workflow takes the run table's place
  const body = h("div", { class: "dt-body" }, dag.el, task.el);
  const showTable = (): void => {
    runs.el.hidden = !model.get("workflow");
    body.hidden = !model.get("workflow") && !model.get("selected_run");
  };
  for (const name of ["change:workflow", "change:selected_run"]) {
    model.on(name, showTable);
    d.add(() => model.off(name, showTable));
  }
  showTable();
  const views = new RunViews(ctx);
  new RerunDialog(ctx);
  root.append(header.el, banner.el, live.note, overview.el, runs.el, body, views.el);
  el.appendChild(root);
  d.add(() => root.remove());
  return () => d.dispose();
}

export default { render };
