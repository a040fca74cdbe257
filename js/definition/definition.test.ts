import { afterEach, expect, test } from "vitest";
import { settle } from "../test/fakemodel";
import { type Mounted, allByTestId, byTestId, clickOn, mountExplorer } from "../test/mount";
import { argumentText, upstreamOf } from "./definition";

let m: Mounted | undefined;
afterEach(() => {
  m?.cleanup();
  m = undefined;
});

test("the Definition tab shows the run's version: schedule, resources, env vars, task code and the diff", async () => {
  m = mountExplorer({ workflow: "etl-pipeline", selected_run: 38 });
  await settle();
  clickOn(byTestId(m.el, "dt-view-definition"));
  await settle();
  expect(m.store.asked.find((a) => a.kind === "definition")?.payload).toEqual({ workflow: "etl-pipeline", version: 2 });
  expect(byTestId(m.el, "dt-definition-summary")?.textContent).toContain("At 06:00, Monday through Friday");
  expect(byTestId(m.el, "dt-definition-resources")?.textContent).toContain("memory");
  expect(byTestId(m.el, "dt-definition-env")?.textContent).toContain("MODE");
  const tasks = allByTestId(m.el, "dt-definition-task");
  expect(tasks.map((t) => t.dataset.task)).toEqual(["extract", "transform", "load"]);
  expect(tasks[1].querySelector('[data-testid="dt-definition-code"]')?.textContent).toContain("raise ValueError");
  expect(tasks[1].querySelector('[data-testid="dt-definition-args"]')?.textContent).toContain("← output of extract");
  expect(tasks[1].querySelector('[data-testid="dt-definition-args"]')?.textContent).toContain("13");
  expect(tasks[2].textContent).toContain("Code not available: not recorded");
  const diff = byTestId(m.el, "dt-definition-diff");
  expect(diff?.querySelector(".dt-diff-add")?.textContent).toBe("+new\n");
  expect(diff?.querySelector(".dt-diff-del")?.textContent).toBe("-old\n");
});

test("arguments: an upstream reference by name, literals as recorded", () => {
  const names = new Map([[0, "extract"]]);
  expect(upstreamOf({ task: 0 })).toBe(0);
  expect(upstreamOf({ task: 0, other: 1 })).toBeNull();
  expect(argumentText({ task: 0 }, names)).toBe("← output of extract");
  expect(argumentText(13, names)).toBe("13");
  expect(argumentText("a", names)).toBe("a");
  expect(argumentText([1, { task: 0 }], names)).toBe('[1,{"task":0}]');
});
