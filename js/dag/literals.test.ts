import { afterEach, expect, test } from "vitest";
import { settle } from "../test/fakemodel";
import { task } from "../test/fixtures";
import { type Mounted, allByTestId, byTestId, mountExplorer } from "../test/mount";
import { defaultStore } from "../test/fixtures";
import { literalArguments } from "../arguments";

let m: Mounted | undefined;
afterEach(() => {
  m?.cleanup();
  m = undefined;
});

test("a task's literal arguments are small nodes left of it, and its Details list every argument", async () => {
  const store = defaultStore();
  store.tasks.set(38, [
    task(38, 0, "first", [], { arguments: { a: 13, b: 2 } }),
    task(38, 1, "first_addition", [0], { arguments: { x: { task: 0 }, y: 5, z: "abc", w: [1, 2], v: true } }),
  ]);
  m = mountExplorer({ workflow: "etl-pipeline", selected_run: 38, selected_task: 1 }, store);
  await settle(10);
  const literals = allByTestId(m.el, "dt-dag-literal");
  expect(literals.map((l) => l.dataset.taskId)).toEqual(["0", "0", "1", "1", "1"]);
  expect(literals[0].querySelector("title")?.textContent).toBe("first: a = 13");
  expect(literals[0].textContent).toContain("13");
  expect(literals[4].querySelector("title")?.textContent).toBe("first_addition: w = [1,2], v = true");
  expect(literals[4].textContent).toContain("+2");
  byTestId(m.el, "dt-tab-details")?.dispatchEvent(new MouseEvent("click", { bubbles: true }));
  await settle();
  const args = byTestId(m.el, "dt-task-arguments");
  expect([...(args?.querySelectorAll("[data-arg]") ?? [])].map((li) => li.textContent)).toEqual([
    "x ← output of first",
    "y = 5",
    "z = abc",
    "w = [1,2]",
    "v = true",
  ]);
});

test("literalArguments leaves upstream outputs out", () => {
  expect(literalArguments(task(1, 0, "t", [], { arguments: { a: { task: 3 }, b: null } }))).toEqual([["b", "—"]]);
});
