import { expect, test } from "vitest";
import { COMPACT_ABOVE, MIN_LABEL_PX, detailAt, fitText, geometryFor, labelZoom, textWidth } from "./dagmodel";
import { task } from "../test/fixtures";
import { FIT_PAD, MAX_FIT_ZOOM, Viewport } from "./viewport";

const tasks = (n: number, name = (i: number) => `step_${i}`) => Array.from({ length: n }, (_, i) => task(1, i, name(i), []));

test("small graphs get two-line nodes, larger ones one-line nodes sized to their names", () => {
  const small = geometryFor(tasks(3));
  expect(small.subFont).toBeGreaterThan(0);
  const big = geometryFor(tasks(COMPACT_ABOVE + 1));
  expect(big.subFont).toBe(0);
  expect(big.h).toBeLessThan(small.h);
  const long = geometryFor(tasks(COMPACT_ABOVE + 1, (i) => `a_really_long_task_name_number_${i}`));
  expect(long.w).toBeGreaterThan(big.w);
  expect(long.w).toBeLessThanOrEqual(180);
});

test("labels are drawn only where they are at least 11 px on screen", () => {
  const g = geometryFor(tasks(3));
  expect(detailAt(g, 1)).toBe("full");
  expect(detailAt(g, labelZoom(g))).not.toBe("overview");
  expect(labelZoom(g) * g.nameFont).toBeCloseTo(MIN_LABEL_PX);
  expect(detailAt(g, labelZoom(g) * 0.99)).toBe("overview");
  const c = geometryFor(tasks(100));
  expect(detailAt(c, 1)).toBe("names");
  for (const k of [0.2, 0.5, 0.8, 0.85, 1, 2]) {
    const d = detailAt(c, k);
    if (d !== "overview") expect(k * c.nameFont).toBeGreaterThanOrEqual(MIN_LABEL_PX);
  }
});

test("names too long for their node are cut with an ellipsis", () => {
  const font = "600 13px sans-serif";
  const cut = fitText("x".repeat(80), 100, font);
  expect(cut.endsWith("…")).toBe(true);
  expect(textWidth(cut, font)).toBeLessThanOrEqual(100);
  expect(fitText("short", 100, font)).toBe("short");
});

test("the fit zoom holds the whole graph and never enlarges it past 100 %", () => {
  expect(Viewport.fitZoom(300, 100, 1000, 600)).toBe(MAX_FIT_ZOOM);
  const k = Viewport.fitZoom(20_000, 3_000, 1000, 600);
  expect(20_000 * k).toBeLessThanOrEqual(1000 - 2 * FIT_PAD + 1e-9);
  expect(3_000 * k).toBeLessThanOrEqual(600 - 2 * FIT_PAD + 1e-9);
});
