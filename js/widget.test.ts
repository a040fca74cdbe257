import type { AnyModel } from "@anywidget/types";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import type { Model } from "./types";
import widget from "./widget";
import { FakeModel, settle } from "./test/fakemodel";
import { type Store, defaultStore, kernel, task as taskOf } from "./test/fixtures";

let el: HTMLElement;
let cleanup: (() => void) | undefined;

beforeEach(() => {
  el = document.createElement("div");
  document.body.appendChild(el);
});

afterEach(() => {
  cleanup?.();
  cleanup = undefined;
  el.remove();
  delete document.body.dataset.datatailrLabext;
});

function mount(state: Partial<Model> = {}, store: Store = defaultStore()): { model: FakeModel; store: Store } {
  const model = new FakeModel(kernel(store), state);
  const out = widget.render({
    model: model as unknown as AnyModel<Model>,
    el,
    signal: new AbortController().signal,
    host: { getWidget: () => Promise.reject(new Error("no host")), getModel: () => Promise.reject(new Error("no host")) },
    experimental: { invoke: () => Promise.reject(new Error("not used")) },
  });
  cleanup = out;
  return { model, store };
}

const q = <T extends Element = HTMLElement>(id: string, root: ParentNode = el): T | null => root.querySelector<T>(`[data-testid="${id}"]`);
const all = (id: string, root: ParentNode = el): HTMLElement[] => [...root.querySelectorAll<HTMLElement>(`[data-testid="${id}"]`)];
const click = (node: Element | null): void => {
  if (!node) throw new Error("nothing to click");
  node.dispatchEvent(new MouseEvent("click", { bubbles: true }));
};

test("the run table shows a page of runs with pills, durations and errors as text", async () => {
  const { model } = mount({ workflow: "etl-pipeline" });
  await settle();
  const rows = all("dt-run-row");
  expect(rows).toHaveLength(25);
  expect(rows[0].textContent).toContain("#40");
  expect(rows[0].textContent).toContain("1m 05s");
  expect(rows[0].textContent).toContain("v2");
  expect(q("dt-page-range")?.textContent).toBe("1–25 of 40");
  const failed = rows.find((r) => r.dataset.runId === "38");
  expect(failed?.querySelector('[data-testid="dt-state-pill"]')?.textContent).toBe("failed");
  const err = failed?.querySelector(".dt-err-cell span") as HTMLElement;
  expect(err.textContent).toContain("ValueError: bad row 17");
  expect(err.title).toContain("Traceback");
  expect(model.requests("list-runs")[0].payload).toMatchObject({ workflow: "etl-pipeline", env: "dev", cursor: null, limit: 25 });
});

test("Next and Prev page with the kernel's cursor and a cursor stack", async () => {
  const { model } = mount({ workflow: "etl-pipeline" });
  await settle();
  click(q("dt-page-next"));
  await settle();
  expect(q("dt-page-range")?.textContent).toBe("26–40 of 40");
  expect(model.requests("list-runs")[1].payload.cursor).toBe("25");
  expect((q("dt-page-next") as HTMLButtonElement).disabled).toBe(true);
  click(q("dt-page-prev"));
  await settle();
  expect(q("dt-page-range")?.textContent).toBe("1–25 of 40");
  expect(model.requests("list-runs")[2].payload.cursor).toBeNull();
});

test("no matching runs says so with the active filters", async () => {
  mount({ workflow: "etl-pipeline", states: ["expired"] });
  await settle();
  expect(q("dt-runs-empty")?.textContent).toContain("No runs match these filters.");
  expect(q("dt-runs-empty")?.textContent).toContain("states: expired");
});

test("reruns are nested under their original run", async () => {
  const { model } = mount({ workflow: "etl-pipeline" });
  await settle();
  const toggle = q("dt-family-toggle");
  expect(toggle?.textContent).toBe("▶ 2 reruns");
  click(toggle);
  await settle();
  expect(model.requests("rerun-family")[0].payload).toEqual({ run_id: 38 });
  const nested = [...el.querySelectorAll<HTMLElement>("tr.dt-rerun-row")].map((r) => r.dataset.runId);
  expect(nested).toEqual(["41", "42"]);
  expect(q("dt-family-toggle")?.textContent).toBe("▼ 2 reruns");
});

test("selecting a run draws its DAG and a task opens the task panel", async () => {
  const { model } = mount({ workflow: "etl-pipeline" });
  await settle();
  click(all("dt-run-row").find((r) => r.dataset.runId === "38") ?? null);
  expect(model.get("selected_run")).toBe(38);
  await settle(12);
  const nodes = all("dt-dag-node");
  expect(nodes.map((n) => n.querySelector(".dt-node-name")?.textContent)).toEqual(["extract", "transform", "load"]);
  expect(nodes[0].querySelector(".dt-node-sub")?.textContent).toBe("4.0 s");
  expect(nodes[2].querySelector("title")?.textContent).toContain("did not run");
  expect(nodes[1].getAttribute("data-state")).toBe("failed");
  expect(q("dt-run-title")?.textContent).toBe("Run #38");
  expect(q("dt-dag-legend")?.textContent).toContain("failed 1");
  click(nodes[0].querySelector("rect"));
  expect(model.get("selected_task")).toBe(0);
  await settle();
  expect(q<HTMLElement>("dt-task-panel")?.hidden).toBe(false);
  expect(q("dt-task-title")?.textContent).toBe("extract");
  const log = q("dt-log");
  expect(log?.textContent).toContain("read 1000 rows");
  expect(log?.querySelector(".dt-ansi-green-fg")?.textContent).toBe("ok");
  const sys = log?.querySelector(".dt-sys");
  expect(sys?.textContent).toBe("⟦dt⟧ engine: task started");
  expect(log?.classList.contains("dt-hide-sys")).toBe(true);
  const toggleSys = q<HTMLInputElement>("dt-log-system");
  if (!toggleSys) throw new Error("no toggle");
  toggleSys.checked = true;
  toggleSys.dispatchEvent(new Event("change"));
  expect(log?.classList.contains("dt-hide-sys")).toBe(false);
});

test("the find box highlights and counts matching tasks", async () => {
  mount({ workflow: "etl-pipeline", selected_run: 38 });
  await settle(12);
  const find = q<HTMLInputElement>("dt-dag-find");
  if (!find) throw new Error("no find box");
  find.value = "trans";
  find.dispatchEvent(new Event("input"));
  expect(q("dt-dag-find-count")?.textContent).toBe("1 of 1");
  expect(all("dt-dag-node")[1].classList.contains("dt-match")).toBe(true);
});

test("log search runs in the kernel and lists matches with line numbers", async () => {
  const { model } = mount({ selected_run: 38, selected_task: 0 });
  await settle(12);
  const box = q<HTMLInputElement>("dt-log-search");
  if (!box) throw new Error("no search box");
  box.value = "rows";
  box.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
  await settle();
  expect(model.requests("search-log")[0].payload).toMatchObject({ pattern: "rows", regex: false, stream: "stdout" });
  const matches = all("dt-log-match");
  expect(matches).toHaveLength(1);
  expect(matches[0].textContent).toBe("3ok read 1000 rows");
  expect(q("dt-log")?.querySelector(".dt-hit")?.textContent).toBe("ok read 1000 rows");
});

test("an empty log says (no output)", async () => {
  mount({ selected_run: 38, selected_task: 2 });
  await settle(12);
  expect(q("dt-log-empty")?.textContent).toBe("(no output)");
});

test("the result tab previews a table and the details tab shows the error as text", async () => {
  mount({ selected_run: 38, selected_task: 0 });
  await settle(12);
  click(q("dt-tab-result"));
  await settle();
  expect(q("dt-result-meta")?.textContent).toContain("1,000,000 × 2");
  expect(q("dt-result-meta")?.textContent).toContain("2.0 KiB");
  expect(q("dt-result-table")?.textContent).toContain("int64");
  expect(q("dt-result-rows")?.textContent).toBe("showing 2 of 1,000,000 rows");
  expect(q("dt-load-cell")?.textContent).toBe("Load into variable");
});

test("Load into cell inserts through the labextension when it answers", async () => {
  document.body.dataset.datatailrLabext = "1";
  const { model } = mount({ selected_run: 38, selected_task: 0 });
  const seen: string[] = [];
  const handler = (ev: Event): void => {
    seen.push((ev as CustomEvent<{ code: string }>).detail.code);
    ev.preventDefault();
  };
  document.addEventListener("datatailr:insert-cell", handler);
  try {
    await settle(12);
    click(q("dt-tab-result"));
    await settle();
    expect(q("dt-load-cell")?.textContent).toBe("Load into cell");
    click(q("dt-load-cell"));
    await settle();
    expect(seen).toEqual(["df = dt.load_result(38, 0)"]);
    expect(q("dt-load-status")?.textContent).toBe("Inserted a cell below: df = …");
    expect(model.requests("bind-result")).toHaveLength(0);
  } finally {
    document.removeEventListener("datatailr:insert-cell", handler);
  }
});

test("without the labextension the kernel binds the variable and the code is copied", async () => {
  const writeText = vi.fn(() => Promise.resolve());
  Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
  const { model } = mount({ selected_run: 38, selected_task: 0 });
  await settle(12);
  click(q("dt-tab-result"));
  await settle();
  click(q("dt-load-cell"));
  await settle();
  expect(model.requests("bind-result")[0].payload).toEqual({ run_id: 38, task_id: 0, variable: "df" });
  expect(writeText).toHaveBeenCalledWith("df = dt.load_result(38, 0)");
  expect(q("dt-load-status")?.textContent).toBe("Loaded into variable `df` in the kernel; the code is on your clipboard");
});

test("the rerun dialog previews the plan and a double click makes exactly one rerun", async () => {
  const { model, store } = mount({ workflow: "etl-pipeline", selected_run: 38 });
  await settle(12);
  click(all("dt-run-row").find((r) => r.dataset.runId === "38")?.querySelector('[data-testid="dt-rerun-button"]') ?? null);
  await settle();
  expect(q("dt-rerun-title")?.textContent).toBe("Rerun run #38");
  const version = q<HTMLSelectElement>("dt-rerun-version");
  expect(version?.value).toBe("2");
  expect([...(version?.options ?? [])].map((o) => o.value)).toEqual(["2", "1"]);
  expect(q("dt-rerun-plan")?.textContent).toContain("Run 2");
  expect(q("dt-rerun-plan")?.textContent).toContain("Reuse 1");
  const nodes = all("dt-dag-node");
  expect(nodes[0].classList.contains("dt-plan-reuse")).toBe(true);
  expect(nodes[1].classList.contains("dt-plan-execute")).toBe(true);
  const confirm = q<HTMLButtonElement>("dt-rerun-confirm");
  click(confirm);
  click(confirm);
  expect(confirm?.disabled).toBe(true);
  await settle(12);
  expect(model.requests("rerun")).toHaveLength(1);
  expect(store.reruns).toBe(1);
  expect(model.requests("rerun")[0].payload).toMatchObject({ run_id: 38, version: 2, full: false });
  expect(typeof model.requests("rerun")[0].payload.request_key).toBe("string");
  expect(q("dt-rerun-dialog")).toBeNull();
  expect(model.get("selected_run")).toBe(43);
  const nested = [...el.querySelectorAll<HTMLElement>("tr.dt-rerun-row")].map((r) => r.dataset.runId);
  expect(nested).toContain("43");
  expect(all("dt-dag-node")[0].classList.contains("dt-plan-reuse")).toBe(false);
});

test("a rerun error shows in the dialog and Confirm can be pressed again with the same key", async () => {
  const store = defaultStore();
  const base = kernel(store);
  let fail = true;
  const model = new FakeModel((kind, p) => {
    if (kind === "rerun" && fail) {
      fail = false;
      throw new Error("store is read-only");
    }
    return base(kind, p);
  }, { workflow: "etl-pipeline" });
  cleanup = widget.render({
    model: model as unknown as AnyModel<Model>,
    el,
    signal: new AbortController().signal,
    host: { getWidget: () => Promise.reject(new Error("no host")), getModel: () => Promise.reject(new Error("no host")) },
    experimental: { invoke: () => Promise.reject(new Error("not used")) },
  }) as () => void;
  await settle();
  click(q("dt-rerun-button"));
  await settle();
  click(q("dt-rerun-confirm"));
  await settle();
  expect(q("dt-rerun-error")?.textContent).toContain("store is read-only");
  expect(q<HTMLButtonElement>("dt-rerun-confirm")?.disabled).toBe(false);
  click(q("dt-rerun-confirm"));
  await settle(12);
  const keys = model.requests("rerun").map((m) => m.payload.request_key);
  expect(keys).toHaveLength(2);
  expect(keys[0]).toBe(keys[1]);
  expect(q("dt-rerun-dialog")).toBeNull();
});

test("a request error shows inline where it was asked and the rest keeps working", async () => {
  const { model } = mount({ workflow: "etl-pipeline", selected_run: 999 });
  await settle(12);
  expect(q("dt-dag-error")?.textContent).toContain("run 999 does not exist");
  expect(all("dt-run-row")).toHaveLength(25);
  click(all("dt-run-row")[0]);
  await settle(12);
  expect(model.get("selected_run")).toBe(40);
  expect(all("dt-dag-node")).toHaveLength(3);
});

test("picking a workflow from the searchable picker sets the trait", async () => {
  const { model } = mount();
  await settle();
  const input = q<HTMLInputElement>("dt-workflow-input");
  if (!input) throw new Error("no picker");
  expect(input.value).toBe("All workflows");
  input.dispatchEvent(new Event("focus"));
  input.value = "rep";
  input.dispatchEvent(new Event("input"));
  const options = all("dt-workflow-option");
  expect(options.map((o) => o.textContent?.startsWith("Reports"))).toEqual([true]);
  options[0].dispatchEvent(new MouseEvent("mousedown", { bubbles: true }));
  expect(model.get("workflow")).toBe("reports");
  expect(model.saves).toBeGreaterThan(0);
});

test("date presets and the state filter write UTC traits and reload page one", async () => {
  const { model } = mount({ workflow: "etl-pipeline" });
  await settle();
  click(q("dt-preset-7d"));
  expect(model.get("start")).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  expect(model.get("end")).toBe("");
  const failed = q<HTMLInputElement>("dt-state-option-failed");
  if (!failed) throw new Error("no state option");
  failed.checked = true;
  failed.dispatchEvent(new Event("change"));
  expect(model.get("states")).toEqual(["failed"]);
  await settle();
  const runsAsked = model.requests("list-runs");
  const last = runsAsked[runsAsked.length - 1];
  expect(last?.payload).toMatchObject({ states: ["failed"], cursor: null });
  expect(all("dt-run-row")).toHaveLength(1);
});

test("a kernel refresh notice fetches what is on screen again", async () => {
  const { model } = mount({ workflow: "etl-pipeline" });
  await settle();
  const before = model.requests("list-runs").length;
  model.emit("msg:custom", { kind: "refresh" }, []);
  await settle();
  expect(model.requests("list-runs").length).toBe(before + 1);
  expect(model.requests("list-workflows").length).toBe(2);
});

test("cleanup removes the view, its listeners and its timers", async () => {
  vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
  try {
    const { model } = mount({ workflow: "etl-pipeline", selected_run: 38, selected_task: 0 });
    await settle(12);
    expect(vi.getTimerCount()).toBeGreaterThan(0);
    cleanup?.();
    cleanup = undefined;
    expect(el.children).toHaveLength(0);
    expect(model.listenerCount()).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  } finally {
    vi.useRealTimers();
  }
});

test("a run with thousands of tasks is drawn on a canvas and stays searchable", async () => {
  vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockReturnValue(null);
  const store = defaultStore();
  const tasks = Array.from({ length: 2000 }, (_, i) =>
    taskOf(38, i, `step-${i}`, i ? [Math.floor((i - 1) / 2)] : [], { state: i % 50 ? "completed" : "failed" }),
  );
  store.tasks.set(38, tasks);
  const { model } = mount({ selected_run: 38 }, store);
  await settle(30);
  const dag = q("dt-dag");
  expect(dag?.dataset.renderer).toBe("canvas");
  expect(dag?.dataset.engine).toBe("layered");
  expect(q("dt-dag-canvas")).not.toBeNull();
  expect(all("dt-dag-node")).toHaveLength(0);
  expect(q("dt-dag-legend")?.textContent).toContain("completed 1,960");
  const find = q<HTMLInputElement>("dt-dag-find");
  if (!find) throw new Error("no find box");
  find.value = "step-1999";
  find.dispatchEvent(new Event("input"));
  expect(q("dt-dag-find-count")?.textContent).toBe("1 of 1");
  expect(model.get("selected_task")).toBe(-1);
  vi.restoreAllMocks();
});

test("changing the rerun version asks for a new plan with that version", async () => {
  const { model } = mount({ selected_run: 38 });
  await settle(12);
  click(q("dt-dag-rerun"));
  await settle();
  const version = q<HTMLSelectElement>("dt-rerun-version");
  if (!version) throw new Error("no version select");
  version.value = "1";
  version.dispatchEvent(new Event("change"));
  await settle();
  const plans = model.requests("plan-rerun");
  expect(plans[plans.length - 1].payload).toMatchObject({ run_id: 38, version: 1, full: false });
  const fromTask = q<HTMLSelectElement>("dt-rerun-from-task");
  const full = q<HTMLInputElement>("dt-rerun-full");
  if (!fromTask || !full) throw new Error("no options");
  expect([...fromTask.options].map((o) => o.value)).toEqual(["", "0", "1", "2"]);
  full.checked = true;
  full.dispatchEvent(new Event("change"));
  expect(fromTask.disabled).toBe(true);
  await settle();
  expect(lastPlan(model)).toMatchObject({ full: true });
  expect(lastPlan(model)?.from_task).toBeUndefined();
});

function lastPlan(model: FakeModel): Record<string, unknown> | undefined {
  const plans = model.requests("plan-rerun");
  return plans[plans.length - 1]?.payload;
}
