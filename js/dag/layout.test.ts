import { expect, test } from "vitest";
import { DAGRE_BUDGET, computeLayout, dagreCost, isotonic } from "./layout";
import { NODE_H, NODE_W } from "./dagmodel";
import { layers, mapReduce, synthetic } from "../bench/synth";

function noOverlaps(x: Float64Array, y: Float64Array): boolean {
  const byColumn = new Map<number, number[]>();
  x.forEach((v, i) => {
    const key = Math.round(v);
    byColumn.set(key, [...(byColumn.get(key) ?? []), y[i]]);
  });
  for (const ys of byColumn.values()) {
    ys.sort((a, b) => a - b);
    for (let i = 1; i < ys.length; i++) if (ys[i] - ys[i - 1] < NODE_H - 0.01) return false;
  }
  return true;
}

test("small graphs are laid out by dagre with edge routes", () => {
  const r = computeLayout({ n: 3, edges: [0, 1, 1, 2], nodeWidth: NODE_W, nodeHeight: NODE_H });
  expect(r.engine).toBe("dagre");
  expect(r.x[0]).toBeLessThan(r.x[1]);
  expect(r.x[1]).toBeLessThan(r.x[2]);
  expect(r.routes?.every((route) => route !== null && route.length >= 4)).toBe(true);
});

test("large graphs use the layered layout: dependencies to the left, no overlaps, all finite", () => {
  const input = synthetic(2000);
  expect(dagreCost(input)).toBeGreaterThan(DAGRE_BUDGET);
  const r = computeLayout(input);
  expect(r.engine).toBe("layered");
  for (let e = 0; e < input.edges.length; e += 2) expect(r.x[input.edges[e]]).toBeLessThan(r.x[input.edges[e + 1]]);
  expect([...r.x, ...r.y].every(Number.isFinite)).toBe(true);
  expect(noOverlaps(r.x, r.y)).toBe(true);
  expect(r.width).toBeGreaterThan(0);
  expect(r.height).toBeGreaterThan(0);
});

test("a source feeding only a late task is placed next to it", () => {
  // 0 -> 1 -> 2 -> 3, and 4 -> 3: task 4 sits in the column before 3, not in the first column.
  const r = computeLayout({ n: 5, edges: [0, 1, 1, 2, 2, 3, 4, 3], nodeWidth: NODE_W, nodeHeight: NODE_H, engine: "layered" });
  expect(r.x[4]).toBe(r.x[2]);
});

test("map-reduce fan-out keeps its chains in rows", () => {
  const input = mapReduce(32);
  const r = computeLayout({ ...input, engine: "layered" });
  expect(noOverlaps(r.x, r.y)).toBe(true);
  // each chain's three tasks share a row
  for (let c = 0; c < 10; c++) {
    const [a, b, d] = [1 + 3 * c, 2 + 3 * c, 3 + 3 * c];
    expect(Math.abs(r.y[a] - r.y[b])).toBeLessThan(1);
    expect(Math.abs(r.y[b] - r.y[d])).toBeLessThan(1);
  }
});

test("isotonic packing keeps order and spacing and stays close to the wishes", () => {
  const out = isotonic(new Float64Array([0, 0, 0, 100]), new Float64Array([1, 1, 1, 1]), 10);
  expect([...out]).toEqual([-10, 0, 10, 100]);
});

test("an empty graph and a graph with a cycle still lay out", () => {
  expect(computeLayout({ n: 0, edges: [], nodeWidth: NODE_W, nodeHeight: NODE_H, engine: "layered" }).x).toHaveLength(0);
  const r = computeLayout({ n: 2, edges: [0, 1, 1, 0], nodeWidth: NODE_W, nodeHeight: NODE_H, engine: "layered" });
  expect([...r.x, ...r.y].every(Number.isFinite)).toBe(true);
});

/** Pairs of edges between the same two columns that cross. */
function crossings(edges: number[], x: Float64Array, y: Float64Array): number {
  let n = 0;
  for (let e = 0; e < edges.length; e += 2) {
    for (let f = e + 2; f < edges.length; f += 2) {
      const [a, b, c, d] = [edges[e], edges[e + 1], edges[f], edges[f + 1]];
      if (x[a] !== x[c] || x[b] !== x[d]) continue;
      if ((y[a] - y[c]) * (y[b] - y[d]) < 0) n++;
    }
  }
  return n;
}

test("the layered order undoes crossings: children listed against their parents' order come out uncrossed", () => {
  // parents 0..49 in a column, child 50+i depends on parent 49-i: any order that keeps the input crosses them all
  const edges: number[] = [];
  for (let i = 0; i < 50; i++) edges.push(49 - i, 50 + i);
  const r = computeLayout({ n: 100, edges, nodeWidth: NODE_W, nodeHeight: NODE_H, engine: "layered" });
  expect(crossings(edges, r.x, r.y)).toBe(0);
});

test("a 10,000-task run of the explorer benchmark's shape is laid out without overlaps and with few crossings", () => {
  const input = { ...layers(10_000), nodeWidth: NODE_W, nodeHeight: NODE_H, engine: "layered" as const };
  const r = computeLayout(input);
  expect(noOverlaps(r.x, r.y)).toBe(true);
  for (let e = 0; e < input.edges.length; e += 2) expect(r.x[input.edges[e]]).toBeLessThan(r.x[input.edges[e + 1]]);
  // in the input order (by task id) about a third of the pairs of edges between two columns cross
  const sample = input.edges.slice(0, 2 * 1500);
  const before = crossings(sample, Float64Array.from({ length: input.n }, (_, i) => Math.floor(i / 100)), Float64Array.from({ length: input.n }, (_, i) => i % 100));
  expect(crossings(sample, r.x, r.y)).toBeLessThan(before / 3);
});
