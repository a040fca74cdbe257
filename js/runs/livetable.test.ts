import { afterEach, expect, test } from "vitest";
import { settle } from "../test/fakemodel";
import { runSummary } from "../test/fixtures";
import { type Mounted, allByTestId, byTestId, clickOn, mountExplorer } from "../test/mount";
import { mergePage } from "./livemerge";

let mounted: Mounted | undefined;

afterEach(() => {
  mounted?.cleanup();
  mounted = undefined;
});

test("a fresher page keeps the rows on screen in place and holds newer runs back", () => {
  const shown = [runSummary(5), runSummary(4, { state: "running" })];
  const merged = mergePage(shown, [runSummary(7), runSummary(6), runSummary(5), runSummary(4, { state: "completed" })]);
  expect(merged.held.map((r) => r.run_id)).toEqual([7, 6]);
  expect(merged.runs.map((r) => [r.run_id, r.state])).toEqual([[5, "completed"], [4, "completed"]]);
  expect(mergePage([], [runSummary(1)]).held).toEqual([]);
  expect(mergePage(shown, [runSummary(5)]).runs.map((r) => r.run_id)).toEqual([5]);
});

test("pushed runs wait behind the new-runs marker, state changes show in place, and a click shows them", async () => {
  mounted = mountExplorer({ workflow: "etl-pipeline" });
  const { model, el, store } = mounted;
  await settle();
  const query = model.requests("list-runs")[0]?.payload;
  expect(byTestId(el, "dt-new-runs")?.hidden).toBe(true);
  const row39 = el.querySelector('tr[data-run-id="39"]');
  const fresh = [runSummary(42, { state: "running", end_time: null }), runSummary(41), ...store.runs.slice(0, 23)];
  fresh[2] = runSummary(40, { state: "failed" });
  model.emit("msg:custom", { kind: "live", answers: [{ kind: "list-runs", payload: query, answer: { runs: fresh, total: 42, next_cursor: "25" } }] });
  await settle();
  const marker = byTestId(el, "dt-new-runs");
  expect(marker?.hidden).toBe(false);
  expect(marker?.textContent).toContain("2 new runs");
  const rows = allByTestId(el, "dt-run-row");
  expect(rows[0]?.dataset.runId).toBe("40");
  expect(rows[0]?.querySelector('[data-testid="dt-state-pill"]')?.textContent).toBe("failed");
  expect(el.querySelector('tr[data-run-id="39"]')).toBe(row39); // untouched rows stay the same elements
  expect(model.requests("list-runs")).toHaveLength(1); // answered from the pushed page
  clickOn(marker);
  await settle();
  expect(byTestId(el, "dt-new-runs")?.hidden).toBe(true);
  expect(allByTestId(el, "dt-run-row").map((r) => r.dataset.runId).slice(0, 3)).toEqual(["42", "41", "40"]);
  expect(byTestId(el, "dt-page-range")?.textContent).toBe("1–25 of 42");
});

test("the live subscription follows the run table's query, the selection, and closing", async () => {
  mounted = mountExplorer({ workflow: "etl-pipeline" });
  const { model } = mounted;
  await settle();
  const last = () => model.requests("live-subscribe").map((m) => m.payload).slice(-1)[0];
  expect(last()).toMatchObject({ env: "dev", run_id: 0, visible: true, list_runs: { workflow: "etl-pipeline", limit: 25 } });
  model.set("selected_run", 38);
  await settle();
  expect(last()).toMatchObject({ run_id: 38 });
  mounted.cleanup();
  mounted = undefined;
  expect(last()).toMatchObject({ visible: false });
});
