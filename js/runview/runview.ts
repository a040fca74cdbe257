// The single-run view (RunMonitor, mode "run"): the progress line, then the run's DAG coloured by state and the
// clicked task's logs and results -- the explorer's parts without its pickers, run table and dashboard tabs.
// While the kernel runs the cell that runs the workflow it pushes the run and its log tails ("live" notices),
// which the dispatcher's cache answers the parts' requests from; afterwards they ask the kernel as the explorer does.
import type { AnyModel, RenderProps } from "@anywidget/types";
import { Bus, type Ctx } from "../app";
import { ConnectionBanner } from "../connection";
import { DagPanel } from "../dag/dag";
import { Disposer, h } from "../dom";
import { LiveLink } from "../live";
import { Dispatcher } from "../protocol";
import { labextActive } from "../results/resultview";
import { injectStyles } from "../styles";
import { TaskPanel } from "../task/taskpanel";
import type { Model } from "../types";
import { ProgressLine } from "./progress";
import { RUNVIEW_CSS } from "./styles";
import type { RunModel } from "./types";

/** The widget is a RunMonitor (its `mode` trait is "run"), not the explorer. */
export function isRunView(model: AnyModel<Model>): boolean {
  return (model as unknown as AnyModel<RunModel>).get("mode") === "run";
}

export function renderRun({ model, el }: RenderProps<RunModel>): () => void {
  const d = new Disposer();
  const root = h("div", { class: "dt-root dt-runview", testid: "dt-runview" });
  injectStyles(root);
  root.appendChild(h("style", { text: RUNVIEW_CSS }));
  const api = new Dispatcher(model);
  d.add(() => api.dispose());
  const explorerModel: AnyModel<Model> = model;
  const ctx: Ctx = { model: explorerModel, api, el, root, bus: new Bus(), d, labext: labextActive(), run: null };

  // Kernel notice (RunMonitor.refresh()): fetch everything on screen again.
  const onNotice = (msg: unknown): void => {
    if (typeof msg === "object" && msg !== null && (msg as { kind?: unknown }).kind === "refresh" && !("id" in msg)) {
      ctx.bus.emit("refresh", null);
    }
  };
  model.on("msg:custom", onNotice);
  d.add(() => model.off("msg:custom", onNotice));

  const progress = new ProgressLine(model, d);
  const banner = new ConnectionBanner(ctx);
  const live = new LiveLink(ctx);
  const dag = new DagPanel(ctx);
  const task = new TaskPanel(ctx);
  const body = h("div", { class: "dt-body" }, dag.el, task.el);
  root.append(progress.el, banner.el, live.note, body);
  el.appendChild(root);
  d.add(() => root.remove());
  return () => d.dispose();
}
