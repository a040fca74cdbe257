import type { AnyModel } from "@anywidget/types";
import { afterEach, beforeEach, expect, test } from "vitest";
import { Bus, type Ctx } from "../app";
import { Disposer } from "../dom";
import { Dispatcher } from "../protocol";
import { FakeModel, settle } from "../test/fakemodel";
import type { Model } from "../types";
import { LogView, TAIL_BYTES, wholeLines } from "./logview";

let model: FakeModel;
let ctx: Ctx;
let view: LogView;
const TAIL = { run_id: 5, task_id: 0, stream: "stdout", tail: TAIL_BYTES };

function pushTail(text: string, complete = false, offset = 0): void {
  const size = offset + new TextEncoder().encode(text).length;
  const answer = { run_id: 5, task_id: 0, stream: "stdout", offset, next_offset: size, size, text, complete };
  model.emit("msg:custom", { kind: "live", answers: [{ kind: "read-log", payload: TAIL, answer }] });
}

function lines(): string[] {
  return [...view.el.querySelectorAll(".dt-line")].map((l) => l.textContent ?? "");
}

function follow(): HTMLInputElement {
  const box = view.el.querySelector<HTMLInputElement>('[data-testid="dt-log-follow"]');
  if (!box) throw new Error("no Follow toggle");
  return box;
}

beforeEach(() => {
  model = new FakeModel(() => ({}));
  const api = new Dispatcher(model, { firstId: 1 });
  const d = new Disposer();
  ctx = { model: model as unknown as AnyModel<Model>, api, el: document.body, root: document.body, bus: new Bus(), d, labext: false, run: null };
  d.add(api.onLive((keys) => ctx.bus.emit("live", keys)));
});

afterEach(() => {
  view.dispose();
  ctx.d.dispose();
  ctx.api.dispose();
});

test("an open log of a running task appends the pushed lines, whole lines only", async () => {
  pushTail("one\ntwo\nthr");
  view = new LogView(ctx, 5, 0, "stdout");
  await settle();
  expect(lines()).toEqual(["one", "two"]);
  expect(model.requests("read-log")).toHaveLength(0);
  pushTail("one\ntwo\nthree\nfour\n");
  await settle();
  expect(lines()).toEqual(["one", "two", "three", "four"]);
  expect(follow().checked).toBe(true);
});

test("scrolling up turns Follow off, the bottom turns it on, and lines still append meanwhile", async () => {
  pushTail("a\nb\n");
  view = new LogView(ctx, 5, 0, "stdout");
  await settle();
  const log = view.el.querySelector<HTMLElement>('[data-testid="dt-log"]');
  if (!log) throw new Error("no log");
  Object.defineProperty(log, "scrollHeight", { value: 1000, configurable: true });
  Object.defineProperty(log, "clientHeight", { value: 100, configurable: true });
  log.scrollTop = 200;
  log.dispatchEvent(new Event("scroll"));
  expect(follow().checked).toBe(false);
  expect(view.followed).toBe(false);
  pushTail("a\nb\nc\n");
  await settle();
  expect(lines()).toEqual(["a", "b", "c"]);
  expect(log.scrollTop).toBe(200); // not following: the reader's place stays
  log.scrollTop = 900;
  log.dispatchEvent(new Event("scroll"));
  expect(follow().checked).toBe(true);
  follow().checked = false;
  follow().dispatchEvent(new Event("change"));
  expect(view.followed).toBe(false);
});

test("a tail that starts after the lines shown replaces them", async () => {
  pushTail("a\n");
  view = new LogView(ctx, 5, 0, "stdout");
  await settle();
  pushTail("x\ny\n", false, 500_000);
  await settle();
  expect(lines()).toEqual(["x", "y"]);
});

test("wholeLines keeps a finished log's last line and cuts a running one's", () => {
  const chunk = { run_id: 1, task_id: 0, stream: "stdout", offset: 10, next_offset: 17, size: 17, text: "ab\ncdé", complete: false };
  expect(wholeLines(chunk)).toMatchObject({ text: "ab\n", next_offset: 13 });
  expect(wholeLines({ ...chunk, complete: true }).text).toBe("ab\ncdé");
});
