import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { canonical, type LiveKey } from "./livecache";
import { Dispatcher } from "./protocol";
import { FakeModel } from "./test/fakemodel";

let model: FakeModel;
let api: Dispatcher;
let kernelRuns: number[];

const QUERY = { workflow: "w", env: "dev", start: "", end: "", states: [], cursor: null, limit: 25 };

function page(ids: number[]): Record<string, unknown> {
  return { runs: ids.map((run_id) => ({ run_id, state: "running" })), total: ids.length, next_cursor: null };
}

function push(kind: string, payload: Record<string, unknown>, answer: Record<string, unknown>): void {
  model.emit("msg:custom", { kind: "live", answers: [{ kind, payload, answer }] });
}

beforeEach(() => {
  kernelRuns = [1];
  model = new FakeModel((kind) => (kind === "list-runs" ? page(kernelRuns) : {}));
  api = new Dispatcher(model, { firstId: 1, pollMs: 2000, busyMs: 1500 });
});

afterEach(() => {
  api.dispose();
  vi.useRealTimers();
});

test("canonical JSON ignores key order at every depth", () => {
  expect(canonical({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } })).toBe(canonical({ a: { c: null, d: [1, { x: 1, y: 2 }] }, b: 1 }));
  expect(canonical({ a: undefined, b: 2 })).toBe('{"b":2}');
});

test("a pushed answer answers the same request at once, whatever the payload's key order", async () => {
  const seen: LiveKey[][] = [];
  api.onLive((keys) => seen.push(keys));
  push("list-runs", { ...QUERY }, page([7, 1]));
  expect(seen).toEqual([[{ kind: "list-runs", payload: QUERY }]]);
  const reordered = { limit: 25, cursor: null, states: [], end: "", start: "", env: "dev", workflow: "w" };
  const res = await api.request("list-runs", reordered);
  expect(res.runs.map((r) => r.run_id)).toEqual([7, 1]);
  expect(model.requests("list-runs")).toHaveLength(0);
});

test("a request the cache does not hold goes to the kernel", async () => {
  push("list-runs", { ...QUERY }, page([7]));
  const res = await api.request("list-runs", { ...QUERY, cursor: "next" });
  expect(res.runs.map((r) => r.run_id)).toEqual([1]);
  expect(model.requests("list-runs")).toHaveLength(1);
});

test("an answer older than a poll is still shown, and asked again once; a changed one is announced", async () => {
  vi.useFakeTimers();
  const seen: LiveKey[][] = [];
  push("list-runs", { ...QUERY }, page([7]));
  api.onLive((keys) => seen.push(keys));
  vi.advanceTimersByTime(2500);
  kernelRuns = [8, 7];
  const first = await api.request("list-runs", { ...QUERY });
  const second = await api.request("list-runs", { ...QUERY });
  expect(first.runs.map((r) => r.run_id)).toEqual([7]);
  expect(second.runs.map((r) => r.run_id)).toEqual([7]);
  expect(model.requests("list-runs")).toHaveLength(1); // one revalidation for both
  await vi.advanceTimersByTimeAsync(10);
  expect(seen).toHaveLength(1);
  const third = await api.request("list-runs", { ...QUERY });
  expect(third.runs.map((r) => r.run_id)).toEqual([8, 7]);
  expect(model.requests("list-runs")).toHaveLength(1);
});

test("fresh asks the kernel even when a pushed answer is at hand, and keeps the cache current", async () => {
  push("list-runs", { ...QUERY }, page([7]));
  kernelRuns = [9, 7];
  const res = await api.request("list-runs", { ...QUERY }, { fresh: true });
  expect(res.runs.map((r) => r.run_id)).toEqual([9, 7]);
  const again = await api.request("list-runs", { ...QUERY });
  expect(again.runs.map((r) => r.run_id)).toEqual([9, 7]);
});

test("malformed live notices and answers without the needed fields are ignored", async () => {
  model.emit("msg:custom", { kind: "live", answers: "nope" });
  model.emit("msg:custom", { kind: "live", answers: [{ kind: "get-result", payload: {}, answer: { preview: 1 } }] });
  push("list-runs", { ...QUERY }, { runs: [] }); // lacks total
  await api.request("list-runs", { ...QUERY });
  expect(model.requests("list-runs")).toHaveLength(1);
});

test("a request that waits more than 1.5 s is reported as waiting for a busy kernel until it is answered", async () => {
  vi.useFakeTimers();
  const counts: number[] = [];
  api.onBusy((n) => counts.push(n));
  model.answer = false;
  const p = api.request("get-run", { run_id: 3 });
  vi.advanceTimersByTime(1400);
  expect(api.waitingCount).toBe(0);
  vi.advanceTimersByTime(200);
  expect(api.waitingCount).toBe(1);
  model.emit("msg:custom", { kind: "get-run-response", id: model.sent[0]?.id, payload: { run: {}, tasks: [] } });
  await p;
  expect(api.waitingCount).toBe(0);
  expect(counts).toEqual([1, 0]);
});

test("a slow kind (answered on a worker thread) is taken for waiting only after 6 s", () => {
  vi.useFakeTimers();
  model.answer = false;
  void api.request("chart", { chart: "heatmap" }).catch(() => undefined);
  vi.advanceTimersByTime(2000);
  expect(api.waitingCount).toBe(0);
  vi.advanceTimersByTime(4100);
  expect(api.waitingCount).toBe(1);
});
