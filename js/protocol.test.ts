import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { Dispatcher, Latest, RequestError, isCancelled } from "./protocol";
import { FakeModel, KernelError, settle } from "./test/fakemodel";

let model: FakeModel;
let api: Dispatcher;

beforeEach(() => {
  model = new FakeModel((kind, payload) => {
    if (kind === "get-run" && payload.run_id === 404) throw new KernelError("RunNotFoundError", "run 404 does not exist");
    if (kind === "get-run") return { run: { run_id: payload.run_id }, tasks: [] };
    if (kind === "list-versions") return { nope: 1 };
    return {};
  });
  api = new Dispatcher(model, { firstId: 1 });
});

afterEach(() => api.dispose());

test("a response is matched to its request by id", async () => {
  const a = api.request("get-run", { run_id: 1 });
  const b = api.request("get-run", { run_id: 2 });
  const [ra, rb] = await Promise.all([a, b]);
  expect(ra.run.run_id).toBe(1);
  expect(rb.run.run_id).toBe(2);
  expect(model.sent.map((m) => m.id)).toEqual([1, 2]);
  expect(model.sent[0]).toEqual({ kind: "get-run", id: 1, payload: { run_id: 1 } });
  expect(api.inFlight).toBe(0);
});

test("an error response rejects with the kernel's type and message", async () => {
  const err = await api.request("get-run", { run_id: 404 }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RequestError);
  expect((err as RequestError).type).toBe("RunNotFoundError");
  expect((err as RequestError).message).toBe("run 404 does not exist");
});

test("a response without the fields the view needs is a protocol error", async () => {
  const err = await api.request("list-versions", { workflow: "w" }).catch((e: unknown) => e);
  expect((err as RequestError).type).toBe("ProtocolError");
  expect((err as RequestError).message).toContain("versions");
});

test("a request times out with a clear message", async () => {
  vi.useFakeTimers();
  try {
    model.answer = false;
    const p = api.request("get-run", { run_id: 1 }, { timeoutMs: 30_000 });
    const caught = p.catch((e: unknown) => e);
    vi.advanceTimersByTime(30_001);
    const err = (await caught) as RequestError;
    expect(err.type).toBe("Timeout");
    expect(err.message).toContain('"get-run" within 30 s');
    expect(api.inFlight).toBe(0);
  } finally {
    vi.useRealTimers();
  }
});

test("unknown, foreign and late responses are ignored", async () => {
  model.answer = false;
  const p = api.request("get-run", { run_id: 7 });
  model.emit("msg:custom", { kind: "get-run-response", id: 999, payload: { run: {}, tasks: [] } }, []);
  model.emit("msg:custom", { kind: "list-runs-response", id: 1, payload: { runs: [], total: 0 } }, []);
  model.emit("msg:custom", "not an object", []);
  model.emit("msg:custom", { something: "else" }, []);
  expect(api.inFlight).toBe(1);
  model.emit("msg:custom", { kind: "get-run-response", id: 1, payload: { run: { run_id: 7 }, tasks: [] } }, []);
  await expect(p).resolves.toMatchObject({ run: { run_id: 7 } });
  model.emit("msg:custom", { kind: "get-run-response", id: 1, payload: { run: { run_id: 8 }, tasks: [] } }, []);
  expect(api.inFlight).toBe(0);
});

test("an aborted request rejects as cancelled and its late answer is dropped", async () => {
  const latest = new Latest();
  const first = api.request("get-run", { run_id: 1 }, { signal: latest.next() }).catch((e: unknown) => e);
  const second = api.request("get-run", { run_id: 2 }, { signal: latest.next() });
  expect(isCancelled(await first)).toBe(true);
  await expect(second).resolves.toMatchObject({ run: { run_id: 2 } });
  await settle();
  expect(api.inFlight).toBe(0);
});

test("dispose rejects pending requests, stops listening and refuses new ones", async () => {
  model.answer = false;
  const p = api.request("get-run", { run_id: 1 }).catch((e: unknown) => e);
  expect(model.listenerCount()).toBe(1);
  api.dispose();
  expect(isCancelled(await p)).toBe(true);
  expect(model.listenerCount()).toBe(0);
  const later = await api.request("get-run", { run_id: 2 }).catch((e: unknown) => e);
  expect(isCancelled(later)).toBe(true);
});

test("ids start at a random base so two views of one widget do not collide", () => {
  const m = new FakeModel();
  const a = new Dispatcher(m);
  const b = new Dispatcher(m);
  m.answer = false;
  void a.request("get-run", { run_id: 1 }).catch(() => undefined);
  void b.request("get-run", { run_id: 1 }).catch(() => undefined);
  expect(m.sent[0].id).not.toBe(m.sent[1].id);
  a.dispose();
  b.dispose();
});
