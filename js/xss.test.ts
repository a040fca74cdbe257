// Everything that comes from runs is rendered as text: the XSS corpus through every view.
import type { AnyModel } from "@anywidget/types";
import { afterEach, beforeEach, expect, test } from "vitest";
import type { Model } from "./types";
import widget from "./widget";
import { FakeModel, settle } from "./test/fakemodel";
import { defaultStore, kernel, runSummary, task, workflow } from "./test/fixtures";

const SCRIPT = "<script>window.__xss=1</script>";
const IMG = '<img src=x onerror="window.__xss=1">';
const JS_URL = "javascript:window.__xss=1";
const OSC8 = `\x1b]8;;${JS_URL}\x1b\\click\x1b]8;;\x1b\\`;
const EVIL = `${SCRIPT}${IMG}<a href="${JS_URL}">x</a>`;

let el: HTMLElement;
let cleanup: (() => void) | undefined;

beforeEach(() => {
  el = document.createElement("div");
  document.body.appendChild(el);
});

afterEach(() => {
  cleanup?.();
  el.remove();
  delete (window as unknown as { __xss?: number }).__xss;
});

function evilStore() {
  const store = defaultStore();
  store.workflows = [workflow("evil", EVIL, { recent_states: [EVIL] as string[], last_state: EVIL })];
  store.runs = [runSummary(7, { workflow: EVIL, workflow_key: "evil", state: "failed", error_message: EVIL, trigger: IMG, n_reruns: 1 })];
  store.families.set(7, [store.runs[0], runSummary(8, { workflow: EVIL, original_run_id: 7, rerun_of: 7, error_message: SCRIPT })]);
  store.tasks.set(7, [
    task(7, 0, EVIL, [], { state: EVIL, error: { type: IMG, message: EVIL, traceback: `${SCRIPT}\n${IMG}` }, function: JS_URL, host: IMG, resources: { [IMG]: SCRIPT }, arguments: { [IMG]: EVIL, [SCRIPT]: { task: 1 } } }),
    task(7, 1, SCRIPT, [0], { reused_from_run: 3 }),
  ]);
  store.logs.set("7/0/stdout", `${SCRIPT}\n${IMG}\n${OSC8}\n\x1b[31m${EVIL}\x1b[0m\n⟦dt⟧ ${SCRIPT}\n`);
  store.logs.set("7/0/stderr", `${EVIL}\n`);
  store.previews.set("7/0", { kind: "table", columns: [{ name: SCRIPT, dtype: IMG }], rows: [[EVIL], [JS_URL]], total_rows: 2 });
  store.previews.set("7/1", { kind: "text", text: EVIL });
  store.plan = [{ task_id: 0, name: EVIL, action: "execute", reason: SCRIPT }];
  return store;
}

function assertInert(): void {
  expect((window as unknown as { __xss?: number }).__xss).toBeUndefined();
  expect(document.querySelector("img, script, iframe, object, embed")).toBeNull();
  expect(document.querySelector('a[href^="javascript"], a[href^="data"], [href^="javascript"]')).toBeNull();
  for (const node of document.querySelectorAll("*")) {
    for (const attr of node.getAttributeNames()) expect(attr.startsWith("on")).toBe(false);
  }
}

const click = (node: Element | null): void => {
  node?.dispatchEvent(new MouseEvent("click", { bubbles: true }));
};
const q = (id: string): HTMLElement | null => el.querySelector(`[data-testid="${id}"]`);

test("the XSS corpus stays text in every view", async () => {
  const store = evilStore();
  store.logs.set("7/1/stdout", EVIL);
  const model = new FakeModel(kernel(store), { workflow: "evil", selected_run: 7, selected_task: 0 });
  cleanup = widget.render({
    model: model as unknown as AnyModel<Model>,
    el,
    signal: new AbortController().signal,
    host: { getWidget: () => Promise.reject(new Error("no host")), getModel: () => Promise.reject(new Error("no host")) },
    experimental: { invoke: () => Promise.reject(new Error("not used")) },
  }) as () => void;
  await settle(12);
  // header picker
  const input = q("dt-workflow-input") as HTMLInputElement;
  input.dispatchEvent(new Event("focus"));
  expect(q("dt-workflow-list")?.textContent).toContain(SCRIPT);
  assertInert();
  // run table and family
  expect(q("dt-runs-table")?.textContent).toContain(EVIL);
  click(q("dt-family-toggle"));
  await settle();
  assertInert();
  // DAG and run header
  expect(q("dt-run-header")?.textContent).toContain(EVIL);
  expect(el.querySelector(".dt-node title")?.textContent).toContain(IMG);
  assertInert();
  // logs (a task with an error opens on its details: turn to stdout)
  click(q("dt-tab-stdout"));
  await settle();
  const log = q("dt-log");
  expect(log?.textContent).toContain(SCRIPT);
  const lines = [...(log?.querySelectorAll(".dt-line") ?? [])].map((l) => l.textContent);
  expect(lines).toContain("click");
  expect(lines).toContain(IMG);
  click(q("dt-tab-stderr"));
  await settle();
  expect(q("dt-logview-stderr")?.textContent).toContain(EVIL);
  // search results
  click(q("dt-tab-stdout"));
  const box = q("dt-log-search") as HTMLInputElement;
  box.value = "script";
  box.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
  await settle();
  expect(el.querySelectorAll('[data-testid="dt-log-match"]').length).toBeGreaterThan(0);
  assertInert();
  // result table preview
  click(q("dt-tab-result"));
  await settle();
  expect(q("dt-result-table")?.textContent).toContain(SCRIPT);
  expect(q("dt-result-table")?.textContent).toContain(IMG);
  assertInert();
  // details with error and traceback
  click(q("dt-tab-details"));
  await settle();
  expect(q("dt-traceback")?.textContent).toBe(`${SCRIPT}\n${IMG}`);
  expect(q("dt-details")?.textContent).toContain(JS_URL);
  expect(q("dt-task-arguments")?.textContent).toContain(EVIL);
  expect(el.querySelector('[data-testid="dt-dag-literal"] title')?.textContent).toContain(EVIL);
  assertInert();
  // text preview of the second task
  model.set("selected_task", 1);
  await settle();
  click(q("dt-tab-result"));
  await settle();
  expect(q("dt-result-text")?.textContent).toBe(EVIL);
  // rerun dialog with task names in the select and plan
  click(q("dt-dag-rerun"));
  await settle();
  expect(q("dt-rerun-from-task")?.textContent).toContain(SCRIPT);
  assertInert();
});

test("the XSS corpus stays text in the overview, compare, definition and charts views", async () => {
  const { overviewRow } = await import("./test/fixtures");
  const { setPlotly } = await import("./charts/plotly");
  setPlotly({ react: () => Promise.resolve(null), purge: () => undefined });
  const store = evilStore();
  store.overview = [
    overviewRow("evil", EVIL, {
      schedule: IMG,
      schedule_text: EVIL,
      next_run: SCRIPT,
      state: EVIL as never,
      recent: [{ run_id: 7, state: EVIL as never, start_time: IMG, duration: null }],
    }),
  ];
  store.compare = [
    { task: EVIL, id_a: 0, id_b: 0, state_a: EVIL as never, state_b: null, duration_a_s: null, duration_b_s: null, duration_change_s: null, executed_a: null, executed_b: null, result_type_a: IMG, result_type_b: null, result_equal: false, result_change: EVIL },
  ];
  store.definition = {
    ...store.definition,
    workflow: EVIL,
    schedule: IMG,
    schedule_text: EVIL,
    resources: { [IMG]: SCRIPT },
    env_vars: { [SCRIPT]: EVIL },
    workflow_code: EVIL,
    code_note: EVIL,
    tasks: [{ id: 0, name: EVIL, function: JS_URL, dependencies: [], arguments: { [IMG]: EVIL }, resources: {}, env_vars: {}, code: EVIL }],
  };
  store.diff = `+${EVIL}\n-${SCRIPT}`;
  store.runs.push(runSummary(9, { workflow: EVIL, workflow_key: "evil", error_message: IMG }));
  const model = new FakeModel(kernel(store), { workflow: "" });
  cleanup = widget.render({
    model: model as unknown as AnyModel<Model>,
    el,
    signal: new AbortController().signal,
    host: { getWidget: () => Promise.reject(new Error("no host")), getModel: () => Promise.reject(new Error("no host")) },
    experimental: { invoke: () => Promise.reject(new Error("not used")) },
  }) as () => void;
  await settle(12);
  expect(q("dt-ov-table")?.textContent).toContain(EVIL);
  expect(q("dt-ov-table")?.textContent).toContain(SCRIPT);
  assertInert();
  click(q("dt-ov-run"));
  await settle(12);
  expect(model.get("selected_run")).toBe(7);
  ctxCompare(7, 9);
  await settle();
  expect(q("dt-compare-table")?.textContent).toContain(EVIL);
  assertInert();
  click(q("dt-view-definition"));
  await settle();
  expect(q("dt-definition")?.textContent).toContain(EVIL);
  expect(q("dt-definition-diff")?.textContent).toContain(SCRIPT);
  assertInert();
  click(q("dt-view-charts"));
  await settle();
  assertInert();
  setPlotly(null);
});

/** Tick runs `a` and `b` in the run table and press Compare. */
function ctxCompare(a: number, b: number): void {
  for (const id of [a, b]) {
    const box = el.querySelector<HTMLInputElement>(`tr[data-run-id="${id}"] input[data-testid="dt-compare-pick"]`);
    if (!box) throw new Error(`no compare box for run ${id}`);
    box.checked = true;
    box.dispatchEvent(new Event("change"));
  }
  click(q("dt-compare-go"));
}
