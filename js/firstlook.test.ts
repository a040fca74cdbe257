// The explorer's first impression in jsdom: which tab a task opens on, the date range form and its presets, the
// rerun dialog's version, a None result, and no developer footer.
import type { AnyModel } from "@anywidget/types";
import { afterEach, beforeEach, expect, test } from "vitest";
import { defaultTab } from "./task/taskpanel";
import type { Model, RunSummary } from "./types";
import widget from "./widget";
import { FakeModel, settle } from "./test/fakemodel";
import { type Store, defaultStore, kernel, task } from "./test/fixtures";

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
  localStorage.removeItem("datatailr:debug");
});

function mount(state: Partial<Model> = {}, store: Store = defaultStore()): { model: FakeModel; store: Store } {
  const model = new FakeModel(kernel(store), state);
  cleanup = widget.render({
    model: model as unknown as AnyModel<Model>,
    el,
    signal: new AbortController().signal,
    host: { getWidget: () => Promise.reject(new Error("no host")), getModel: () => Promise.reject(new Error("no host")) },
    experimental: { invoke: () => Promise.reject(new Error("not used")) },
  });
  return { model, store };
}

const q = <T extends Element = HTMLElement>(id: string): T | null => el.querySelector<T>(`[data-testid="${id}"]`);
const click = (node: Element | null): void => {
  if (!node) throw new Error("nothing to click");
  node.dispatchEvent(new MouseEvent("click", { bubbles: true }));
};
const selectedTab = (): string | undefined =>
  [...el.querySelectorAll<HTMLElement>(".dt-tab")].find((b) => b.getAttribute("aria-selected") === "true")?.dataset.testid;

test("a task's default tab is the one that shows it", () => {
  const base = task(1, 0, "t", []);
  const error = { type: "ValueError", message: "bad", traceback: "Traceback…" };
  expect(defaultTab({ ...base, state: "failed", error, stderr_bytes: 300 })).toBe("stderr");
  expect(defaultTab({ ...base, state: "failed", error, stderr_bytes: 0 })).toBe("details");
  expect(defaultTab({ ...base, state: "out_of_memory", error: null, stderr_bytes: 0 })).toBe("details");
  expect(defaultTab({ ...base, state: "running", stdout_bytes: 0, stderr_bytes: 50 })).toBe("stdout");
  expect(defaultTab({ ...base, state: "completed", stdout_bytes: 193 })).toBe("stdout");
  expect(defaultTab({ ...base, state: "completed", stdout_bytes: 0, stderr_bytes: 12 })).toBe("stderr");
  expect(defaultTab({ ...base, state: "completed", stdout_bytes: 0, stderr_bytes: 0 })).toBe("result");
});

test("a failed task opens on its stderr traceback and the next task on its stdout, whatever was chosen by hand", async () => {
  const { model } = mount({ selected_run: 38, selected_task: 1 });
  await settle(12);
  expect(selectedTab()).toBe("dt-tab-stderr");
  expect(q("dt-logview-stderr")?.textContent).toContain("ValueError: bad row 17");
  model.set("selected_task", 0);
  await settle(12);
  expect(selectedTab()).toBe("dt-tab-stdout");
  click(q("dt-tab-details")); // by hand, for task 0 only
  expect(selectedTab()).toBe("dt-tab-details");
  model.set("selected_task", 1);
  await settle(12);
  expect(selectedTab()).toBe("dt-tab-stderr");
  model.set("selected_task", 0);
  await settle(12);
  expect(selectedTab()).toBe("dt-tab-stdout");
});

test("a failed task without stderr opens on Details with its traceback first", async () => {
  const store = defaultStore();
  const tasks = store.tasks.get(38) ?? [];
  tasks[1] = { ...tasks[1], stderr_bytes: 0 };
  mount({ selected_run: 38, selected_task: 1 }, store);
  await settle(12);
  expect(selectedTab()).toBe("dt-tab-details");
  const details = q("dt-details");
  expect(details?.firstElementChild?.getAttribute("data-testid")).toBe("dt-task-error");
  expect(q("dt-traceback")?.textContent).toContain("ValueError: bad row 17");
});

test("a log with only system lines says so instead of showing a blank box", async () => {
  const store = defaultStore();
  store.logs.set("38/0/stdout", "⟦dt⟧ start 'extract'\n⟦dt⟧ end 'extract': completed in 0.1 s\n");
  mount({ selected_run: 38, selected_task: 0 }, store);
  await settle(12);
  expect(q("dt-log-only-system")?.textContent).toContain("only 2 system lines");
  const toggle = q<HTMLInputElement>("dt-log-system");
  if (!toggle) throw new Error("no toggle");
  toggle.checked = true;
  toggle.dispatchEvent(new Event("change"));
  expect(q("dt-log-only-system")).toBeNull();
});

test("a task that returned None reads so, with nothing to load", async () => {
  const store = defaultStore();
  const tasks = store.tasks.get(38) ?? [];
  tasks[0] = { ...tasks[0], result: { codec: "json", bytes: 4, python_type: "builtins.NoneType", shape: null, length: null, preview: "None", sha256: "" } };
  store.previews.set("38/0", { kind: "none", text: "The task returned None." });
  mount({ selected_run: 38, selected_task: 0 }, store);
  await settle(12);
  click(q("dt-tab-result"));
  await settle();
  expect(q("dt-result-none")?.textContent).toBe("The task returned None.");
  expect(q("dt-load-cell")).toBeNull();
  click(q("dt-tab-details"));
  expect(q("dt-details")?.textContent).toContain("returned None");
});

test("the rerun dialog selects the run's own version, not the latest", async () => {
  const store = defaultStore();
  store.runs = store.runs.map((r: RunSummary) => (r.run_id === 38 ? { ...r, job_version: 1 } : r));
  mount({ workflow: "etl-pipeline", selected_run: 38 }, store);
  await settle(12);
  click(q("dt-dag-rerun"));
  await settle();
  const version = q<HTMLSelectElement>("dt-rerun-version");
  expect(version?.value).toBe("1");
  expect(version?.selectedOptions[0]?.textContent).toContain("this run");
});

test("--since 7d lights the 7d preset; typed dates are ISO, 24-hour, and a bad one is refused inline", async () => {
  const start = new Date(Date.now() - 7 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, "Z");
  const { model } = mount({ workflow: "etl-pipeline", start });
  await settle();
  expect(q("dt-preset-7d")?.getAttribute("aria-pressed")).toBe("true");
  expect(q("dt-preset-24h")?.getAttribute("aria-pressed")).toBe("false");
  const input = q<HTMLInputElement>("dt-start");
  if (!input) throw new Error("no start box");
  expect(input.type).toBe("text");
  expect(input.value).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/);
  expect(q("dt-time-zone")?.textContent).toMatch(/^times in /);
  input.value = "2026-02-30 10:00";
  input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
  expect(q("dt-range-error")?.hidden).toBe(false);
  expect(q("dt-range-error")?.textContent).toContain("not a real date");
  expect(input.getAttribute("aria-invalid")).toBe("true");
  expect(model.get("start")).toBe(start);
  input.value = "2026-02-03 14:30";
  input.dispatchEvent(new Event("change"));
  expect(q("dt-range-error")?.hidden).toBe(true);
  expect(model.get("start")).toBe(new Date(2026, 1, 3, 14, 30).toISOString().replace(/\.\d{3}Z$/, "Z"));
  await settle();
  expect(q("dt-preset-7d")?.getAttribute("aria-pressed")).toBe("false");
});

test("the graph shows no developer footer unless the debug flag is set", async () => {
  mount({ selected_run: 38 });
  await settle(12);
  expect(q("dt-dag-status")?.textContent).toBe("");
  expect(q("dt-dag")?.dataset.drawMs).toMatch(/^\d+$/);
  cleanup?.();
  localStorage.setItem("datatailr:debug", "1");
  el.replaceChildren();
  mount({ selected_run: 38 });
  await settle(12);
  expect(q("dt-dag-status")?.textContent).toMatch(/3 tasks · layout \d+ ms/);
});

test("a small graph is fitted at 100 % with labels, and the fit reports what it drew", async () => {
  mount({ selected_run: 38 });
  await settle(12);
  const view = q("dt-dag-view");
  expect(view?.dataset.detail).toBe("full");
  expect(Number(view?.dataset.labelPx)).toBeGreaterThanOrEqual(11);
  expect(q("dt-dag-overview-hint")?.hidden).toBe(true);
  expect(q("dt-dag-resize")?.hidden).toBe(false);
});

test("a graph too big to label at Fit is an overview with a hint; finding a task zooms to where names are drawn", async () => {
  const store = defaultStore();
  const many = Array.from({ length: 200 }, (_, i) => task(38, i, `step_${i}`, i >= 10 ? [i - 10] : []));
  store.tasks.set(38, many);
  mount({ selected_run: 38 }, store);
  await settle(20);
  const view = q("dt-dag-view");
  expect(view?.dataset.detail).toBe("overview");
  expect(q("dt-dag-overview-hint")?.hidden).toBe(false);
  const find = q<HTMLInputElement>("dt-dag-find");
  if (!find) throw new Error("no find box");
  find.value = "step_137";
  find.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
  expect(view?.dataset.detail).toBe("names");
  expect(Number(view?.dataset.labelPx)).toBeGreaterThanOrEqual(11);
  expect(q("dt-dag-overview-hint")?.hidden).toBe(true);
  click(q("dt-dag-fit"));
  expect(view?.dataset.detail).toBe("overview");
});
