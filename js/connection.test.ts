import type { AnyModel } from "@anywidget/types";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { RETRY_MS } from "./connection";
import { FakeModel, KernelError, settle } from "./test/fakemodel";
import { defaultStore, kernel } from "./test/fixtures";
import type { Model } from "./types";
import widget from "./widget";

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
  vi.useRealTimers();
});

const banner = (): HTMLElement => el.querySelector<HTMLElement>('[data-testid="dt-unreachable"]') as HTMLElement;

test("an unreachable store shows one banner, is probed, and the explorer reloads by itself when it is back", async () => {
  vi.useFakeTimers();
  const store = defaultStore();
  const answer = kernel(store);
  let away = true;
  const model = new FakeModel((kind, payload) => {
    if (away) throw new KernelError("StoreUnavailableError", "the run store server at http://h:8787 is not reachable");
    return answer(kind, payload);
  }, { workflow: "etl-pipeline", store_label: "http://h:8787" });
  cleanup = widget.render({
    model: model as unknown as AnyModel<Model>,
    el,
    signal: new AbortController().signal,
    host: { getWidget: () => Promise.reject(new Error("no host")), getModel: () => Promise.reject(new Error("no host")) },
    experimental: { invoke: () => Promise.reject(new Error("not used")) },
  });
  await vi.advanceTimersByTimeAsync(10);
  expect(banner().hidden).toBe(false);
  expect(banner().textContent).toBe("store unreachable — retrying");
  expect(banner().title).toContain("not reachable");
  const before = model.requests("list-workflows").length;
  await vi.advanceTimersByTimeAsync(RETRY_MS + 10);
  expect(model.requests("list-workflows").length).toBe(before + 1); // one probe per period, not a storm
  expect(banner().hidden).toBe(false);

  away = false;
  const runsBefore = model.requests("list-runs").length;
  await vi.advanceTimersByTimeAsync(RETRY_MS + 10);
  expect(banner().hidden).toBe(true);
  expect(model.requests("list-runs").length).toBeGreaterThan(runsBefore); // refreshed without a click
  vi.useRealTimers();
  await settle();
  expect(el.querySelectorAll('[data-testid="dt-run-row"]').length).toBe(25);
});

test("other errors do not show the banner", async () => {
  const model = new FakeModel(() => {
    throw new KernelError("RunNotFoundError", "run 9 does not exist");
  });
  cleanup = widget.render({
    model: model as unknown as AnyModel<Model>,
    el,
    signal: new AbortController().signal,
    host: { getWidget: () => Promise.reject(new Error("no host")), getModel: () => Promise.reject(new Error("no host")) },
    experimental: { invoke: () => Promise.reject(new Error("not used")) },
  });
  await settle();
  expect(banner().hidden).toBe(true);
});
