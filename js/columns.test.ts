import { expect, test } from "vitest";
import { decodeColumn, decodeRunDetail } from "./columns";
import { Dispatcher, RequestError } from "./protocol";
import { FakeModel } from "./test/fakemodel";
import { encodeColumn } from "./test/columnar";

test("each column form decodes to its values: plain, dictionary, flat lists and records present in some rows", () => {
  expect(decodeColumn(["a", "b"], 2)).toEqual(["a", "b"]);
  expect(decodeColumn({ dict: ["completed", "failed"], codes: [0, 0, 1] }, 3)).toEqual(["completed", "completed", "failed"]);
  expect(decodeColumn({ lists: [0, 0, 1], lengths: [0, 1, 2] }, 3)).toEqual([[], [0], [0, 1]]);
  const result = { rows: [1], fields: { codec: ["json"], shape: { lists: [3, 4], lengths: [2] } } };
  expect(decodeColumn(result, 2)).toEqual([null, { codec: "json", shape: [3, 4] }]);
});

test("a run written by the kernel's rules decodes to exactly its records, unicode names and nested values kept", () => {
  const tasks = [
    { id: 0, name: "lädt_daten", dependencies: [], state: "completed", error: null, result: { codec: "npy", shape: [3, 4] }, arguments: { n: { literal: 3 } } },
    { id: 1, name: "計算 🚀", dependencies: [0], state: "failed", error: { type: "KeyError", message: "'ß'" }, result: null, arguments: {} },
    { id: 2, name: "write", dependencies: [0, 1], state: "completed", error: null, result: { codec: "json", shape: null }, arguments: {} },
    { id: 3, name: "tail", dependencies: [2], state: "completed", error: null, result: null, arguments: {} },
  ];
  const columns = Object.fromEntries(
    Object.keys(tasks[0]).map((f) => [f, encodeColumn(tasks.map((t) => (t as Record<string, unknown>)[f]))]),
  );
  const wire = JSON.parse(JSON.stringify({ run: { run_id: 9 }, n_tasks: 4, columns })) as Record<string, unknown>;
  expect(decodeRunDetail(wire).tasks).toEqual(tasks);
  expect(columns.state).toEqual({ dict: ["completed", "failed"], codes: [0, 1, 0, 0] });
});

test("a malformed get-run answer is a protocol error that says what is wrong", async () => {
  expect(() => decodeColumn([1, 2], 3)).toThrow("a column has 2 values for 3 rows");
  expect(() => decodeColumn({ dict: ["a"], codes: [4] }, 1)).toThrow("a dictionary code 4 is out of range");
  expect(() => decodeColumn({ zip: [] }, 0)).toThrow("unknown column form with keys zip");
  const model = new FakeModel(() => ({ run: { run_id: 1 }, n_tasks: 2, columns: { id: [0] } }));
  const api = new Dispatcher(model, { firstId: 1 });
  const err = await api.request("get-run", { run_id: 1 }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RequestError);
  expect((err as RequestError).type).toBe("ProtocolError");
  expect((err as RequestError).message).toContain("a column has 1 values for 2 rows");
  api.dispose();
});

test("a column with one value for every row, consecutive ids and records in every row decode to all their rows", () => {
  expect(decodeColumn({ same: 0 }, 3)).toEqual([0, 0, 0]);
  expect(decodeColumn({ same: null }, 2)).toEqual([null, null]);
  expect(decodeColumn({ same: {} }, 2)).toEqual([{}, {}]);
  expect(decodeColumn({ same: "x" }, 0)).toEqual([]);
  expect(decodeColumn({ from: 5 }, 3)).toEqual([5, 6, 7]);
  expect(decodeColumn({ lists: [], lengths: { same: 0 } }, 3)).toEqual([[], [], []]);
  expect(decodeColumn({ lists: [0, 1, 2], lengths: { dict: [1, 2], codes: [1, 0] } }, 2)).toEqual([[0, 1], [2]]);
  expect(decodeColumn({ fields: { codec: { same: "json" }, bytes: [1, 2] } }, 2)).toEqual([
    { codec: "json", bytes: 1 },
    { codec: "json", bytes: 2 },
  ]);
  expect(() => decodeColumn({ from: "a" }, 2)).toThrow("a 'from' column must start at a whole number");
  expect(() => decodeColumn({ lists: [], lengths: { same: "a" } }, 1)).toThrow("a list column's lengths must be an array of numbers");
});

test("a 10,000-task run as the kernel sends it, most columns one value each, decodes to its records", () => {
  const n = 10_000;
  const columns = {
    run_id: { same: 7 },
    id: { from: 0 },
    name: Array.from({ length: n }, (_, i) => `step_${i}`),
    dependencies: { lists: Array.from({ length: n - 1 }, (_, i) => i), lengths: { dict: [0, 1], codes: [0, ...new Array<number>(n - 1).fill(1)] } },
    state: { same: "completed" },
    exit_code: { same: null },
    error: { rows: [], fields: { type: [], message: [] } },
    resources: { same: {} },
    result: { fields: { codec: { same: "json" }, shape: { same: null } } },
  };
  const wire = JSON.parse(JSON.stringify({ run: { run_id: 7 }, n_tasks: n, columns })) as Record<string, unknown>;
  const tasks = decodeRunDetail(wire).tasks as unknown as Record<string, unknown>[];
  expect(tasks).toHaveLength(n);
  expect(tasks[0]).toEqual({ run_id: 7, id: 0, name: "step_0", dependencies: [], state: "completed", exit_code: null, error: null, resources: {}, result: { codec: "json", shape: null } });
  expect(tasks[n - 1]).toMatchObject({ run_id: 7, id: n - 1, dependencies: [n - 2], state: "completed", result: { codec: "json", shape: null } });
  expect(encodeColumn(tasks.map((t) => t.state))).toEqual({ same: "completed" });
  expect(encodeColumn(tasks.map((t) => t.id))).toEqual({ from: 0 });
});
