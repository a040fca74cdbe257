import { afterEach, expect, test } from "vitest";
import { settle } from "../test/fakemodel";
import { type Mounted, byTestId, clickOn, mountExplorer } from "../test/mount";
import { INSERT_EVENT } from "../results/resultview";

let m: Mounted | undefined;
afterEach(() => {
  m?.cleanup();
  m = undefined;
});

test("Debug in cell asks the kernel for the task's debug code and dispatches it as a cell to insert", async () => {
  m = mountExplorer({ workflow: "etl-pipeline", selected_run: 38, selected_task: 1 });
  await settle();
  const seen: string[] = [];
  const onInsert = (ev: Event): void => {
    seen.push((ev as CustomEvent<{ code: string }>).detail.code);
    ev.preventDefault();
  };
  document.addEventListener(INSERT_EVENT, onInsert);
  try {
    clickOn(byTestId(m.el, "dt-debug-cell"));
    await settle();
  } finally {
    document.removeEventListener(INSERT_EVENT, onInsert);
  }
  expect(seen).toEqual([m.store.debugCode]);
  expect(m.store.asked.find((a) => a.kind === "debug-code")?.payload).toEqual({ run_id: 38, task_id: 1 });
  expect(byTestId(m.el, "dt-debug-status")?.textContent).toContain("Inserted a debug cell");
});
