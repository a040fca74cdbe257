// Synthetic workflow DAGs for the layout benchmark: layered, 1-3 dependencies each on the previous two layers.
import type { LayoutInput } from "../dag/layout";
import { NODE_H, NODE_W } from "../dag/dagmodel";

export function synthetic(n: number, seed = 1): LayoutInput {
  let s = seed;
  const rnd = (): number => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
  const width = Math.max(4, Math.round(Math.sqrt(n) * 1.5));
  const edges: number[] = [];
  for (let i = 0; i < n; i++) {
    const layer = Math.floor(i / width);
    if (layer === 0) continue;
    const seen = new Set<number>();
    const k = 1 + Math.floor(rnd() * 3);
    for (let j = 0; j < k; j++) {
      const back = 1 + Math.floor(rnd() * Math.min(layer, 2));
      const d = (layer - back) * width + Math.floor(rnd() * width);
      if (d < i && !seen.has(d)) {
        seen.add(d);
        edges.push(d, i);
      }
    }
  }
  return { n, edges, nodeWidth: NODE_W, nodeHeight: NODE_H };
}

/** One source, `k` chains of three tasks, one reducer (a map-reduce workflow). */
export function mapReduce(n: number): LayoutInput {
  const edges: number[] = [];
  const k = Math.max(1, Math.floor((n - 2) / 3));
  const ends: number[] = [];
  let next = 1;
  for (let b = 0; b < k; b++) {
    let prev = 0;
    for (let s = 0; s < 3; s++) {
      edges.push(prev, next);
      prev = next++;
    }
    ends.push(prev);
  }
  for (const e of ends) edges.push(e, next);
  return { n: next + 1, edges, nodeWidth: NODE_W, nodeHeight: NODE_H };
}

/** The explorer benchmark's runs (bench/bench_explorer.py): layers of about √n tasks, each depending on one or
 * two tasks of the layer above. */
export function layers(n: number, seed = 7): LayoutInput {
  let s = seed;
  const rnd = (): number => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
  const width = Math.max(2, Math.floor(Math.sqrt(n)));
  const edges: number[] = [];
  for (let i = width; i < n; i++) {
    const above = Math.floor(i / width) * width - width;
    const a = above + Math.floor(rnd() * width);
    edges.push(a, i);
    const b = above + Math.floor(rnd() * width);
    if (rnd() < 0.5 && b !== a) edges.push(b, i);
  }
  return { n, edges, nodeWidth: 110, nodeHeight: 22, rankGap: 28, nodeGap: 6 };
}
