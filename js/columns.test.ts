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
