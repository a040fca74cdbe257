import type { AnyModel } from "@anywidget/types";
import { afterEach, expect, test } from "vitest";
import { Bus, type Ctx } from "../app";
import { Disposer } from "../dom";
import { Dispatcher } from "../protocol";
import { FakeModel } from "../test/fakemodel";
import type { Model } from "../types";
import { FIRST_LINES, LogView, lastLinesStart } from "./logview";

let view: LogView | undefined;
afterEach(() => view?.dispose());

const LINES = Array.from({ length: 1000 }, (_, i) => `\x1b[32mINFO\x1b[0m step ${i}`);

function lines(el: HTMLElement): string[] {
  return [...el.querySelectorAll(".dt-line")].map((l) => l.textContent ?? "");
}

test("lastLinesStart finds where the last n lines begin", () => {
  expect(lastLinesStart("a\nb\nc\n", 2)).toBe(2);
  expect(lastLinesStart("a\nb\nc", 2)).toBe(2);
  expect(lastLinesStart("a\nb\nc\n", 3)).toBe(0);
  expect(lastLinesStart("", 3)).toBe(0);
});

test("a long tail shows its last lines at once, coloured, and the lines above them right after", async () => {
  const text = `${LINES.join("\n")}\n`;
  const size = new TextEncoder().encode(text).length;
  const model = new FakeModel(() => ({ run_id: 5, task_id: 0, stream: "stdout", offset: 0, next_offset: size, size, text, complete: true }));
  model.answer = false;
  const api = new Dispatcher(model, { firstId: 1 });
  const d = new Disposer();
  const ctx: Ctx = { model: model as unknown as AnyModel<Model>, api, el: document.body, root: document.body, bus: new Bus(), d, labext: false, run: null };
  view = new LogView(ctx, 5, 0, "stdout");
  document.body.appendChild(view.el);
  const asked = model.requests("read-log")[0];
  const answer = { run_id: 5, task_id: 0, stream: "stdout", offset: 0, next_offset: size, size, text, complete: true };
  model.emit("msg:custom", { kind: "read-log-response", id: asked.id, payload: answer });
  for (let i = 0; i < 5; i++) await Promise.resolve();
  const log = view.el.querySelector<HTMLElement>('[data-testid="dt-log"]');
  if (!log) throw new Error("no log");
  expect(lines(log)).toEqual(LINES.slice(-FIRST_LINES).map((l) => l.replace(/\x1b\[\d+m/g, "")));
  expect(log.querySelector(".dt-line:last-child .dt-ansi-green-fg")?.textContent).toBe("INFO");
  await new Promise((r) => setTimeout(r, 60));
  expect(lines(log)).toEqual(LINES.map((l) => l.replace(/\x1b\[\d+m/g, "")));
  expect(log.querySelectorAll(".dt-ansi-green-fg")).toHaveLength(1000);
  expect(view.el.querySelector('[data-testid="dt-log-older"]')?.hasAttribute("hidden")).toBe(true);
  d.dispose();
  api.dispose();
});
