import type { AnyModel } from "@anywidget/types";
import { afterEach, expect, test } from "vitest";
import { FakeModel, settle } from "../test/fakemodel";
import { defaultStore, kernel, runSummary, task } from "../test/fixtures";
import { progressText, segments } from "./progress";
import { renderRun } from "./runview";
import type { RunModel } from "./types";
import widget from "../widget";
import type { Model } from "../types";

let cleanup: (() => void) | undefined;
afterEach(() => {
  cleanup?.();
  cleanup = undefined;
  document.body.replaceChildren();
});

const PROGRESS = { mode: "run", run_state: "running", n_tasks: 3, n_done: 1, n_running: 1, n_failed: 0, elapsed: 4.2, following: true };

function mount(answer = true): { model: FakeModel; el: HTMLElement } {
  const store = defaultStore();
  store.runs.unshift(runSummary(50, { state: "running", end_time: null }));
  store.tasks.set(50, [
    task(50, 0, "extract", []),
    task(50, 1, "transform", [0], { state: "running", end_time: null, result: null }),
    task(50, 2, "load", [1], { state: "pending", start_time: null, end_time: null, result: null }),
  ]);
  store.logs.set("50/1/stdout", "row 1\nrow 2\n");
  const model = new FakeModel(kernel(store), { workflow: "etl-pipeline", selected_run: 50 });
  model.answer = answer;
  Object.assign(model.state, PROGRESS);
  const el = document.createElement("div");
  document.body.appendChild(el);
  cleanup = renderRun({
    model: model as unknown as AnyModel<RunModel>,
    el,
    signal: new AbortController().signal,
    host: { getWidget: () => Promise.reject(new Error("no host")), getModel: () => Promise.reject(new Error("no host")) },
    experimental: { invoke: () => Promise.reject(new Error("not used")) },
  });
  return { model, el };
}

const q = (root: ParentNode, id: string): HTMLElement | null => root.querySelector<HTMLElement>(`[data-testid="${id}"]`);

test("the progress line says done, running and failed of n tasks and the time run", () => {
  expect(progressText({ run_state: "running", n_tasks: 6, n_done: 3, n_running: 2, n_failed: 1, elapsed: 4.25 })).toBe(
    "3 of 6 tasks done · 2 running · 1 failed · 4.2 s",
  );
  expect(progressText({ run_state: "failed", n_tasks: 4, n_done: 1, n_running: 0, n_failed: 1, elapsed: 75 })).toBe(
    "1 of 4 tasks done · 0 running · 1 failed · 2 did not finish · 1m 15s",
  );
  expect(segments({ run_state: "running", n_tasks: 4, n_done: 1, n_running: 1, n_failed: 0, elapsed: 0 })).toEqual([
    { state: "completed", count: 1, share: 0.25 },
    { state: "running", count: 1, share: 0.25 },
  ]);
});

test("the run view shows the progress, the run's DAG and no pickers, run table or rerun button", async () => {
  const { el } = mount();
  await settle(12);
  expect(q(el, "dt-progress-text")?.textContent).toBe("1 of 3 tasks done · 1 running · 0 failed · 4.2 s");
  expect(q(el, "dt-progress-pill")?.textContent).toBe("running");
  expect(q(el, "dt-progress-live")?.textContent).toBe("following the run");
  expect(el.querySelectorAll('[data-testid="dt-progress-bar"] .dt-progress-seg')).toHaveLength(2);
  expect(q(el, "dt-run-title")?.textContent).toBe("Run #50");
  expect(q(el, "dt-run-table")).toBeNull();
  expect(q(el, "dt-header")).toBeNull();
  expect(q(el, "dt-views")).toBeNull();
});

test("the progress line follows the traits the kernel sets", () => {
  const { model, el } = mount();
  model.set("n_done" as never, 3 as never);
  model.set("n_running" as never, 0 as never);
  model.set("run_state" as never, "completed" as never);
  model.set("following" as never, false as never);
  expect(q(el, "dt-progress-text")?.textContent).toBe("3 of 3 tasks done · 0 running · 0 failed · 4.2 s");
  expect(q(el, "dt-progress-pill")?.textContent).toBe("completed");
  expect(q(el, "dt-progress-live")?.textContent).toBe("");
});

test("while the kernel is busy the DAG and a running task's log come from pushed answers", async () => {
  const { model, el } = mount(false); // the kernel answers nothing: it is running the cell
  await settle();
  const run = { run: runSummary(50, { state: "running", end_time: null }), tasks: [task(50, 0, "extract", []), task(50, 1, "transform", [0], { state: "running", end_time: null, result: null })] };
  const log = { run_id: 50, task_id: 1, stream: "stdout", offset: 0, next_offset: 12, size: 12, text: "row 1\nrow 2\n", complete: false };
  model.emit("msg:custom", {
    kind: "live",
    answers: [
      { kind: "get-run", payload: { run_id: 50 }, answer: run },
      { kind: "read-log", payload: { run_id: 50, task_id: 1, stream: "stdout", tail: 65536 }, answer: log },
    ],
  });
  await settle(12); // at once: the DAG's own first request still waits for the kernel
  expect(q(el, "dt-run-title")?.textContent).toBe("Run #50");
  model.set("selected_task", 1);
  await settle(12);
  expect(q(el, "dt-task-title")?.textContent).toBe("transform");
  expect(q(el, "dt-log")?.textContent).toContain("row 2");
});

test("the widget's entry draws the run view for a RunMonitor and the explorer otherwise", async () => {
  const props = (model: FakeModel, el: HTMLElement) => ({
    model: model as unknown as AnyModel<Model>,
    el,
    signal: new AbortController().signal,
    host: { getWidget: () => Promise.reject(new Error("no host")), getModel: () => Promise.reject(new Error("no host")) },
    experimental: { invoke: () => Promise.reject(new Error("not used")) },
  });
  const store = defaultStore();
  const monitor = new FakeModel(kernel(store), { selected_run: 38 });
  Object.assign(monitor.state, { ...PROGRESS, run_state: "failed" });
  const explorer = new FakeModel(kernel(store), { workflow: "etl-pipeline" });
  const a = document.createElement("div");
  const b = document.createElement("div");
  document.body.append(a, b);
  const stopA = widget.render(props(monitor, a)) as () => void;
  const stopB = widget.render(props(explorer, b)) as () => void;
  await settle(12);
  expect(q(a, "dt-runview")).not.toBeNull();
  expect(q(a, "dt-explorer")).toBeNull();
  expect(q(a, "dt-run-title")?.textContent).toBe("Run #38");
  expect(q(b, "dt-explorer")).not.toBeNull();
  expect(q(b, "dt-runview")).toBeNull();
  stopA();
  stopB();
  expect(a.childElementCount + b.childElementCount).toBe(0);
});
