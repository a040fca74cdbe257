import { afterEach, beforeEach, expect, test } from "vitest";
import { settle } from "../test/fakemodel";
import { type Mounted, allByTestId, byTestId, clickOn, mountExplorer } from "../test/mount";
import { type PlotlyLike, loadPlotly, setPlotly } from "./plotly";

let m: Mounted | undefined;
const drawn: { data: unknown[]; layout: Record<string, unknown> }[] = [];
const fake: PlotlyLike = {
  react: (el, data, layout) => {
    drawn.push({ data, layout });
    el.dataset.fakePlot = "1";
    return Promise.resolve(el);
  },
  purge: () => undefined,
};

beforeEach(() => {
  drawn.length = 0;
  setPlotly(fake);
});
afterEach(() => {
  m?.cleanup();
  m = undefined;
  setPlotly(null);
});

test("the Charts tab draws the selected run's timeline from the kernel's figure JSON", async () => {
  m = mountExplorer({ workflow: "etl-pipeline", selected_run: 38 });
  await settle();
  clickOn(byTestId(m.el, "dt-view-charts"));
  await settle();
  expect(m.store.asked.filter((a) => a.kind === "chart").map((a) => a.payload)).toEqual([
    { chart: "timeline", env: "dev", workflow: "etl-pipeline", run_id: 38 },
  ]);
  expect(drawn).toHaveLength(1);
  expect(drawn[0].layout).toMatchObject({ title: { text: "chart timeline" }, autosize: true });
  expect(byTestId(m.el, "dt-chart")?.dataset.drawn).toBe("timeline");
  clickOn(byTestId(m.el, "dt-chart-durations"));
  await settle();
  expect(byTestId(m.el, "dt-chart")?.dataset.drawn).toBe("durations");
  expect(byTestId(m.el, "dt-chart-durations")?.getAttribute("aria-pressed")).toBe("true");
});

test("the weekly activity chart is the SVG heatmap of the workflow, and a task adds its durations", async () => {
  m = mountExplorer({ workflow: "etl-pipeline", selected_run: 38, selected_task: 1 });
  await settle();
  clickOn(byTestId(m.el, "dt-view-charts"));
  await settle();
  expect(byTestId(m.el, "dt-chart-task_durations")?.textContent).toBe("Durations of transform");
  clickOn(byTestId(m.el, "dt-chart-heatmap"));
  await settle();
  expect(allByTestId(byTestId(m.el, "dt-chart") as HTMLElement, "dt-heat-cell")).toHaveLength(168);
  expect(byTestId(m.el, "dt-chart")?.dataset.drawn).toBe("heatmap");
});

test("without a bundled plotly the loader says so instead of failing silently", async () => {
  setPlotly(null);
  await expect(loadPlotly()).rejects.toThrow(/plotly.js is not part of this build/);
});
