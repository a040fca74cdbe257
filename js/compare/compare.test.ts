import { afterEach, expect, test } from "vitest";
import { settle } from "../test/fakemodel";
import { type Mounted, allByTestId, byTestId, clickOn, mountExplorer } from "../test/mount";
import { changeText } from "./compare";

let m: Mounted | undefined;
afterEach(() => {
  m?.cleanup();
  m = undefined;
});

function tick(el: HTMLElement, runId: number): void {
  const box = el.querySelector<HTMLInputElement>(`tr[data-run-id="${runId}"] input[data-testid="dt-compare-pick"]`);
  if (!box) throw new Error(`no box for run ${runId}`);
  box.checked = !box.checked;
  box.dispatchEvent(new Event("change"));
}

test("ticking two runs in the table and Compare shows them task by task", async () => {
  m = mountExplorer({ workflow: "etl-pipeline" });
  await settle();
  expect(byTestId(m.el, "dt-compare-bar")?.hidden).toBe(true);
  tick(m.el, 40);
  expect(byTestId<HTMLButtonElement>(m.el, "dt-compare-go")?.disabled).toBe(true);
  tick(m.el, 38);
  const go = byTestId<HTMLButtonElement>(m.el, "dt-compare-go");
  expect(go?.textContent).toBe("Compare #40 with #38");
  clickOn(go);
  await settle();
  expect(m.store.asked.find((a) => a.kind === "compare")?.payload).toEqual({ a: 40, b: 38 });
  expect(byTestId(m.el, "dt-view-compare")?.getAttribute("aria-selected")).toBe("true");
  const rows = allByTestId(m.el, "dt-compare-row");
  expect(rows.map((r) => r.dataset.task)).toEqual(["extract", "transform"]);
  expect(rows[1].dataset.differs).toBe("true");
  expect(rows[1].textContent).toContain("+2.5 s");
  expect(rows[0].textContent).toContain("reused");
  expect(byTestId(m.el, "dt-compare-summary")?.textContent).toBe("2 tasks, 2 differ");
});

test("a third tick replaces the oldest, and Clear unticks all", async () => {
  m = mountExplorer({ workflow: "etl-pipeline" });
  await settle();
  tick(m.el, 40);
  tick(m.el, 39);
  tick(m.el, 37);
  expect(byTestId(m.el, "dt-compare-go")?.textContent).toBe("Compare #39 with #37");
  expect(allByTestId(m.el, "dt-compare-pick").filter((b) => (b as HTMLInputElement).checked)).toHaveLength(2);
  clickOn(byTestId(m.el, "dt-compare-clear"));
  expect(byTestId(m.el, "dt-compare-bar")?.hidden).toBe(true);
  expect(allByTestId(m.el, "dt-compare-pick").some((b) => (b as HTMLInputElement).checked)).toBe(false);
});

test("duration changes read with a sign", () => {
  expect(changeText(2.5)).toBe("+2.5 s");
  expect(changeText(-61)).toMatch(/^−1m/);
  expect(changeText(0)).toBe("±0 s");
  expect(changeText(null)).toBe("—");
});
