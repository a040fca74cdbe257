import { afterEach, expect, test, vi } from "vitest";
import { settle } from "../test/fakemodel";
import { type Mounted, allByTestId, byTestId, clickOn, mountExplorer } from "../test/mount";
import { brushRange, sumHeatmaps } from "./heatmap";

let m: Mounted | undefined;
afterEach(() => {
  m?.cleanup();
  m = undefined;
  vi.useRealTimers();
});

test("no workflow selected: the overview lists every workflow and the run table is hidden", async () => {
  m = mountExplorer({ workflow: "" });
  await settle();
  expect(byTestId(m.el, "dt-overview")?.hidden).toBe(false);
  expect(byTestId(m.el, "dt-runs")?.hidden).toBe(true);
  const rows = allByTestId(m.el, "dt-ov-row");
  expect(rows.map((r) => r.dataset.workflow)).toEqual(["etl-pipeline", "reports"]);
  const first = rows[0];
  expect(first.textContent).toContain("ETL pipeline");
  expect(first.textContent).toContain("v2");
  expect(first.textContent).toContain("At 06:00, Monday through Friday");
  expect(first.textContent).toContain("90%");
  expect(allByTestId(first, "dt-ov-run").map((c) => c.dataset.runId)).toEqual(["38", "39", "40"]);
  expect(rows[1].textContent).toContain("not scheduled");
  const asked = m.store.asked.find((a) => a.kind === "overview");
  expect(asked?.payload).toMatchObject({ env: "dev", sort: "name", filter: "", cursor: null });
});

test("a strip cell opens that run in its workflow; a name opens the workflow's run table", async () => {
  m = mountExplorer({ workflow: "" });
  await settle();
  clickOn(allByTestId(m.el, "dt-ov-run").find((c) => c.dataset.runId === "38") ?? null);
  await settle();
  expect(m.model.get("workflow")).toBe("etl-pipeline");
  expect(m.model.get("selected_run")).toBe(38);
  expect(byTestId(m.el, "dt-overview")?.hidden).toBe(true);
  expect(byTestId(m.el, "dt-runs")?.hidden).toBe(false);
  m.model.set("workflow", "");
  await settle();
  clickOn(allByTestId(m.el, "dt-ov-open")[1]);
  await settle();
  expect(m.model.get("workflow")).toBe("reports");
  expect(m.model.get("selected_run")).toBe(0);
});

test("the name filter and the sort go to the store", async () => {
  m = mountExplorer({ workflow: "" });
  await settle();
  const filter = byTestId<HTMLInputElement>(m.el, "dt-ov-filter");
  if (!filter) throw new Error("no filter");
  filter.value = "rep";
  filter.dispatchEvent(new Event("input"));
  await new Promise((r) => setTimeout(r, 300));
  await settle();
  expect(allByTestId(m.el, "dt-ov-row").map((r) => r.dataset.workflow)).toEqual(["reports"]);
  const sort = byTestId<HTMLSelectElement>(m.el, "dt-ov-sort");
  if (!sort) throw new Error("no sort");
  sort.value = "-last_run";
  sort.dispatchEvent(new Event("change"));
  await settle();
  expect(m.store.asked.filter((a) => a.kind === "overview").slice(-1)[0]?.payload).toMatchObject({ filter: "rep", sort: "-last_run" });
});

test("the heatmap sums the page's workflows and a brush over cells sets the date range", async () => {
  m = mountExplorer({ workflow: "" });
  await settle();
  const cells = allByTestId(m.el, "dt-heat-cell");
  expect(cells).toHaveLength(168);
  expect(cells[6].dataset.count).toBe("8"); // Monday 06:00: 4 runs in each of the two workflows
  expect(cells[6].getAttribute("fill")).toBe("#3aceac");
  expect(cells[24 + 6].getAttribute("fill")).toBe("#ff4344");
  cells[6].dispatchEvent(new MouseEvent("mousedown", { bubbles: true }));
  cells[7].dispatchEvent(new MouseEvent("mouseenter"));
  cells[8].dispatchEvent(new MouseEvent("mouseenter"));
  cells[8].dispatchEvent(new MouseEvent("mouseup", { bubbles: true }));
  await settle();
  const start = m.model.get("start");
  const end = m.model.get("end");
  expect(new Date(start).getUTCDay()).toBe(1);
  expect(new Date(start).getUTCHours()).toBe(6);
  expect(Date.parse(end) - Date.parse(start)).toBe(3 * 3_600_000);
  expect(Date.parse(start)).toBeLessThanOrEqual(Date.now());
  expect(byTestId(m.el, "dt-ov-brush-note")?.textContent).toContain("Mon 06:00");
  expect(m.el.querySelectorAll(".dt-heat-brushed")).toHaveLength(3);
});

test("brushRange picks the most recent span that has begun, in either drag direction", () => {
  const now = Date.parse("2026-11-25T10:30:00Z"); // a Wednesday
  expect(brushRange(2 * 24 + 9, 2 * 24 + 11, now)).toEqual({ start: "2026-11-25T09:00:00Z", end: "2026-11-25T12:00:00Z" });
  expect(brushRange(2 * 24 + 11, 2 * 24 + 9, now)).toEqual({ start: "2026-11-25T09:00:00Z", end: "2026-11-25T12:00:00Z" });
  expect(brushRange(2 * 24 + 12, 2 * 24 + 12, now)).toEqual({ start: "2026-11-18T12:00:00Z", end: "2026-11-18T13:00:00Z" });
  expect(brushRange(0, 167, now).start).toBe("2026-11-23T00:00:00Z");
  expect(sumHeatmaps([[[7, 0, 1, 1, 1]], [[0, 25, 1, 0, 0]]]).every((b) => b.completed + b.failed + b.other === 0)).toBe(true);
});
