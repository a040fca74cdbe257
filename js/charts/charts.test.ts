import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { settle } from "../test/fakemodel";
import { type Mounted, allByTestId, byTestId, clickOn, mountExplorer } from "../test/mount";
import { type PlotlyLike, loadPlotly, plotlyFetches, setImporter, setPlotly } from "./plotly";

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

/** A comm whose kernel answers plotly-source with `code` as the one buffer (or an error), counting requests. */
function assetModel(code: string | null) {
  const listeners = new Set<(msg: unknown, buffers: DataView[]) => void>();
  const model = {
    asked: 0,
    on: (_e: "msg:custom", cb: (msg: unknown, buffers: DataView[]) => void) => listeners.add(cb),
    off: (_e: "msg:custom", cb: (msg: unknown, buffers: DataView[]) => void) => listeners.delete(cb),
    send: (content: unknown) => {
      const { kind, id } = content as { kind: string; id: number };
      if (kind !== "plotly-source") return;
      model.asked++;
      setTimeout(() => {
        const reply = code === null
          ? { kind: "plotly-source-response", id, error: { type: "AssetMissing", message: "plotly.js is missing: run npm run build" } }
          : { kind: "plotly-source-response", id, payload: { bytes: code.length } };
        const buffers = code === null ? [] : [new DataView(new TextEncoder().encode(code).buffer)];
        for (const cb of [...listeners]) cb({ kind: "other-response", id }, []);
        for (const cb of [...listeners]) cb(reply, buffers);
      }, 0);
    },
  };
  return model;
}

describe("plotly's code comes from the kernel once per page", () => {
  const imported: string[] = [];
  beforeEach(() => {
    setPlotly(null);
    imported.length = 0;
    setImporter(async (blob) => {
      imported.push(
        await new Promise<string>((resolve) => {
          const reader = new FileReader();
          reader.onload = () => resolve(String(reader.result));
          reader.readAsText(blob);
        }),
      );
      return fake;
    });
  });
  afterEach(() => setImporter(null));

  test("the first chart asks the kernel and imports the buffer; a second widget of the page reuses it", async () => {
    const one = assetModel("export default Plotly;");
    const two = assetModel("export default Plotly;");
    const [a, b] = await Promise.all([loadPlotly(one), loadPlotly(one)]);
    expect(a).toBe(fake);
    expect(b).toBe(fake);
    expect(await loadPlotly(two)).toBe(fake);
    expect([one.asked, two.asked, plotlyFetches()]).toEqual([1, 0, 1]);
    expect(imported).toEqual(["export default Plotly;"]);
  });

  test("a kernel without the built file says how to build it, and the next chart asks again", async () => {
    const broken = assetModel(null);
    await expect(loadPlotly(broken)).rejects.toThrow(/plotly.js is missing: run npm run build/);
    const good = assetModel("code");
    expect(await loadPlotly(good)).toBe(fake);
    expect([broken.asked, good.asked, plotlyFetches()]).toEqual([1, 1, 2]);
  });

  test("a kernel that never answers gives a timeout message, not a chart that waits forever", async () => {
    const silent = { ...assetModel("x"), send: () => undefined };
    await expect(loadPlotly(silent, 20)).rejects.toThrow(/did not send plotly.js within 0 s/);
  });
});
