import { afterEach, expect, test } from "vitest";
import { settle } from "./test/fakemodel";
import { toWire } from "./test/columnar";
import { defaultStore, kernel } from "./test/fixtures";
import { allByTestId, byTestId, mountExplorer, type Mounted } from "./test/mount";
import { readInitialAnswers } from "./widget";

let mounted: Mounted | undefined;
afterEach(() => mounted?.cleanup());

const QUERY = { workflow: "etl-pipeline", env: "dev", start: "", end: "", states: [], cursor: null, limit: 25 };

test("an initial answer for another query is not used: the table asks the kernel", async () => {
  const store = defaultStore();
  const other = { ...QUERY, limit: 10 };
  const initial_answers = [{ kind: "list-runs", payload: other, answer: { runs: [], total: 0, next_cursor: null } }];
  mounted = mountExplorer({ workflow: "etl-pipeline", initial_answers }, store);
  await settle(12);
  expect(mounted.model.requests("list-runs")).toHaveLength(1);
  expect(allByTestId(mounted.el, "dt-run-row")).toHaveLength(25);
});

/** The first answers as widget.py's pack_answers sends them: one buffer of UTF-8 JSON, each response as a request's. */
function packed(answers: First[]): DataView {
  const list = answers.map((a) => ({ kind: a.kind, payload: a.payload, response: { kind: `${a.kind}-response`, id: null, payload: a.answer } }));
  const bytes = new TextEncoder().encode(JSON.stringify(list));
  const buffer = new ArrayBuffer(bytes.length + 8); // a view into a larger buffer, as the widget manager may give
  new Uint8Array(buffer, 4, bytes.length).set(bytes);
  return new DataView(buffer, 4, bytes.length);
}

type First = { kind: string; payload: unknown; answer: unknown };

test.each([
  ["as a list in the widget's state", (answers: First[]): unknown[] | DataView => answers],
  ["as one binary buffer of JSON", (answers: First[]): unknown[] | DataView => packed(answers)],
])("answers sent %s draw the run table and the run's DAG with no request to the kernel", async (_how, form) => {
  const store = defaultStore();
  const answer = kernel(store);
  const run = answer("get-run", { run_id: 38 }) as { run: unknown; tasks: Record<string, unknown>[] };
  const initial_answers = form([
    { kind: "list-runs", payload: QUERY, answer: answer("list-runs", QUERY) },
    { kind: "get-run", payload: { run_id: 38 }, answer: toWire(run) },
  ]);
  const started = mountExplorer({ workflow: "etl-pipeline", selected_run: 38, initial_answers }, store);
  mounted = started;
  started.model.answer = false; // a kernel that answers nothing
  await settle(12);
  expect(allByTestId(started.el, "dt-run-row")).toHaveLength(25);
  expect(byTestId(started.el, "dt-run-title")?.textContent).toBe("Run #38");
  const names = allByTestId(started.el, "dt-dag-node").map((n) => n.querySelector(".dt-node-name")?.textContent);
  expect(names).toEqual(["extract", "transform", "load"]);
  expect(started.model.requests("list-runs")).toHaveLength(0);
  expect(started.model.requests("get-run")).toHaveLength(0);
});

test("the binary first answers decode to {kind, payload, answer}; empty or unreadable ones are none", () => {
  const answers = [{ kind: "get-run", payload: { run_id: 1 }, answer: { run: { run_id: 1, name: "ünï 🚀" }, n_tasks: 0, columns: {} } }];
  expect(readInitialAnswers(packed(answers))).toEqual(answers);
  expect(readInitialAnswers(packed(answers).buffer.slice(4, -4))).toEqual(answers);
  expect(readInitialAnswers(new DataView(new ArrayBuffer(0)))).toEqual([]);
  expect(readInitialAnswers(undefined)).toEqual([]);
  const broken = new TextEncoder().encode("[{");
  const logged = console.error;
  console.error = () => undefined;
  try {
    expect(readInitialAnswers(new DataView(broken.buffer))).toEqual([]);
  } finally {
    console.error = logged;
  }
});
