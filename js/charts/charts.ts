// The Charts tab: plotly figures of datatailr_jupyter.charts for the selected run and workflow (timeline of the
// run, durations of the workflow's runs, a task's durations), and the workflow's weekly activity heatmap drawn
// like the overview's (plotly's basic bundle has no heatmap trace). Figures come as JSON from a `chart` request.
import { type Ctx, onTraits, selectedRun, selectedTask, setTraits } from "../app";
import { button, h, setChildren } from "../dom";
import { Latest, errorText } from "../protocol";
import type { ChartKind } from "../types";
import { errorBox, loading, note } from "../ui";
import { Heatmap, brushRange, sumHeatmaps } from "../overview/heatmap";
import { type PlotlyLike, loadPlotly, plotlyFetches } from "./plotly";

type Choice = ChartKind;

export class ChartsView {
  readonly el: HTMLElement;
  private readonly bar = h("div", { class: "dt-chart-bar", attrs: { role: "group", "aria-label": "Chart" } });
  private readonly plot = h("div", { class: "dt-chart", testid: "dt-chart" });
  private readonly status = h("div", { testid: "dt-chart-status" });
  private readonly latest = new Latest();
  private choice: Choice = "timeline";
  private plotly: PlotlyLike | null = null;
  private visible = false;

  constructor(private readonly ctx: Ctx) {
    this.el = h("div", { class: "dt-charts", testid: "dt-charts" }, this.bar, this.status, this.plot);
    ctx.d.add(() => {
      this.latest.cancel();
      this.plotly?.purge(this.plot);
    });
    onTraits(ctx, ["selected_run", "selected_task", "workflow", "env"], () => {
      if (this.visible) this.draw();
    });
  }

  show(): void {
    this.visible = true;
    this.draw();
  }

  hide(): void {
    this.visible = false;
    this.latest.cancel();
  }

  private choices(): [Choice, string][] {
    const out: [Choice, string][] = [];
    const run = selectedRun(this.ctx);
    if (run) out.push(["timeline", `Timeline of run #${run}`]);
    if (this.ctx.model.get("workflow")) out.push(["durations", "Run durations"], ["heatmap", "Weekly activity"]);
    const task = this.taskName();
    if (task) out.push(["task_durations", `Durations of ${task}`]);
    return out;
  }

  private taskName(): string {
    const id = selectedTask(this.ctx);
    return id >= 0 ? (this.ctx.run?.tasks.find((t) => t.id === id)?.name ?? "") : "";
  }

  private draw(): void {
    const choices = this.choices();
    if (!choices.some(([c]) => c === this.choice)) this.choice = choices[0]?.[0] ?? "timeline";
    setChildren(
      this.bar,
      ...choices.map(([c, label]) => {
        const b = button(label, `dt-chart-${c}`, () => {
          this.choice = c;
          this.draw();
        }, "dt-btn dt-btn-small");
        b.setAttribute("aria-pressed", String(c === this.choice));
        return b;
      }),
    );
    if (!choices.length) {
      this.plot.replaceChildren();
      setChildren(this.status, note("Choose a workflow or a run to see its charts.", "dt-chart-empty"));
      return;
    }
    if (this.choice === "heatmap") void this.heatmap();
    else void this.figure(this.choice);
  }

  private async figure(chart: Choice): Promise<void> {
    const signal = this.latest.next();
    const m = this.ctx.model;
    setChildren(this.status, loading("Drawing the chart…", "dt-chart-loading"));
    try {
      const payload = {
        chart,
        env: m.get("env") ?? "",
        workflow: m.get("workflow") ?? "",
        ...(chart === "timeline" ? { run_id: selectedRun(this.ctx) } : {}),
        ...(chart === "task_durations" ? { task: this.taskName() } : {}),
      };
      const [res, plotly] = await Promise.all([
        this.ctx.api.request("chart", payload, { signal, timeoutMs: 60_000 }),
        loadPlotly(this.ctx.model),
      ]);
      if (signal.aborted) return;
      this.plotly = plotly;
      this.plot.replaceChildren();
      this.plot.dataset.chart = chart;
      const layout = { ...res.figure.layout, autosize: true };
      await plotly.react(this.plot, res.figure.data ?? [], layout, { responsive: true, displaylogo: false });
      this.status.replaceChildren();
      this.plot.dataset.drawn = chart;
      this.plot.dataset.plotlyFetches = String(plotlyFetches()); // times this page fetched plotly from a kernel
    } catch (err) {
      if (signal.aborted) return;
      const box = errorBox("Could not draw the chart", err, () => this.draw(), "dt-chart-error");
      if (box) setChildren(this.status, box);
      else if (!(err instanceof Error)) setChildren(this.status, note(errorText(err)));
    }
  }

  /** The workflow's weekly activity by outcome, from its overview row (the store's counts). */
  private async heatmap(): Promise<void> {
    const signal = this.latest.next();
    const m = this.ctx.model;
    const key = m.get("workflow") ?? "";
    setChildren(this.status, loading("Counting runs…", "dt-chart-loading"));
    try {
      // the workflow's own row: asked by its display name (the store filters names), else from the first page
      const name = this.ctx.run?.run.workflow_key === key ? this.ctx.run.run.workflow : "";
      const ask = (filter: string) =>
        this.ctx.api.request(
          "overview",
          { env: m.get("env") ?? "", filter, sort: "name", limit: 200, cursor: null, days: 30 },
          { signal, timeoutMs: 60_000 },
        );
      let row = name ? (await ask(name)).workflows.find((w) => w.key === key) : undefined;
      if (!row) row = (await ask("")).workflows.find((w) => w.key === key);
      this.plotly?.purge(this.plot);
      const heat = new Heatmap((a, b) => setTraits(this.ctx, brushRange(a, b)));
      heat.setData(sumHeatmaps([row?.heatmap ?? []]));
      setChildren(this.plot, h("div", { class: "dt-ov-heading", text: "Runs per weekday and UTC hour, last 30 days (drag to set the date range)" }), heat.el);
      this.plot.dataset.drawn = "heatmap";
      this.status.replaceChildren();
    } catch (err) {
      const box = errorBox("Could not count the runs", err, () => this.draw(), "dt-chart-error");
      if (box) setChildren(this.status, box);
    }
  }
}
