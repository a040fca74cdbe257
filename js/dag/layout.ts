// DAG layout, left to right: dagre for graphs it lays out quickly, and a linear-time layered layout
// (longest-path ranks, barycentre ordering, isotonic packing) for large graphs. Pure: runs in a worker or inline.
import dagre from "@dagrejs/dagre";

export interface LayoutInput {
  /** Number of nodes; nodes are 0..n-1. */
  n: number;
  /** Flat [from, to, from, to, ...] node indices; `from` must run before `to`. */
  edges: number[];
  nodeWidth: number;
  nodeHeight: number;
  engine?: "auto" | "dagre" | "layered";
  /** Horizontal space between ranks (default RANK_GAP) and vertical space between nodes (default NODE_GAP). */
  rankGap?: number;
  nodeGap?: number;
}

export interface LayoutResult {
  /** Node centres. */
  x: Float64Array;
  y: Float64Array;
  width: number;
  height: number;
  engine: "dagre" | "layered";
  /** Per edge, a flat [x0, y0, x1, y1, ...] route (dagre), or null: draw a curve between the nodes' sides. */
  routes: (number[] | null)[] | null;
  ms: number;
}

export const RANK_GAP = 44;
export const NODE_GAP = 14;
const MARGIN = 16;
/** Positions in a layer and barycentre keys packed into one exactly represented number (2^17 * 2^30 < 2^53). */
const SLOT = 2 ** 17;
const KEY_SCALE = 2 ** 30;
/** Above this estimated size (nodes + edges + long-edge dummies), dagre takes longer than ~0.3 s. */
export const DAGRE_BUDGET = 400;

interface Adjacency {
  predStart: Int32Array;
  pred: Int32Array;
  succStart: Int32Array;
  succ: Int32Array;
}

function adjacency(n: number, edges: number[]): Adjacency {
  const m = edges.length >> 1;
  const predStart = new Int32Array(n + 1);
  const succStart = new Int32Array(n + 1);
  for (let e = 0; e < m; e++) {
    succStart[edges[2 * e] + 1]++;
    predStart[edges[2 * e + 1] + 1]++;
  }
  for (let i = 0; i < n; i++) {
    predStart[i + 1] += predStart[i];
    succStart[i + 1] += succStart[i];
  }
  const pred = new Int32Array(m);
  const succ = new Int32Array(m);
  const pf = predStart.slice(0, n);
  const sf = succStart.slice(0, n);
  for (let e = 0; e < m; e++) {
    const a = edges[2 * e];
    const b = edges[2 * e + 1];
    succ[sf[a]++] = b;
    pred[pf[b]++] = a;
  }
  return { predStart, pred, succStart, succ };
}

/** Longest-path ranks; sources move right next to their first consumer. Nodes on a cycle (never expected) rank after. */
export function ranks(n: number, adj: Adjacency): Int32Array {
  const indeg = new Int32Array(n);
  for (let v = 0; v < n; v++) indeg[v] = adj.predStart[v + 1] - adj.predStart[v];
  const order: number[] = [];
  for (let v = 0; v < n; v++) if (indeg[v] === 0) order.push(v);
  for (let i = 0; i < order.length; i++) {
    const v = order[i];
    for (let k = adj.succStart[v]; k < adj.succStart[v + 1]; k++) if (--indeg[adj.succ[k]] === 0) order.push(adj.succ[k]);
  }
  const seen = new Uint8Array(n);
  for (const v of order) seen[v] = 1;
  for (let v = 0; v < n; v++) if (!seen[v]) order.push(v);
  const rank = new Int32Array(n);
  for (const v of order) {
    let r = 0;
    for (let k = adj.predStart[v]; k < adj.predStart[v + 1]; k++) r = Math.max(r, rank[adj.pred[k]] + 1);
    rank[v] = r;
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const v = order[i];
    if (adj.predStart[v + 1] === adj.predStart[v] && adj.succStart[v + 1] > adj.succStart[v]) {
      let r = Infinity;
      for (let k = adj.succStart[v]; k < adj.succStart[v + 1]; k++) r = Math.min(r, rank[adj.succ[k]] - 1);
      rank[v] = Math.max(0, r);
    }
  }
  return rank;
}

/** Estimated work for dagre: nodes, edges and the dummy nodes its long edges need. */
export function dagreCost(input: LayoutInput): number {
  const adj = adjacency(input.n, input.edges);
  const rank = ranks(input.n, adj);
  let dummies = 0;
  for (let e = 0; e < input.edges.length; e += 2) {
    dummies += Math.max(0, rank[input.edges[e + 1]] - rank[input.edges[e]] - 1);
  }
  return input.n + (input.edges.length >> 1) + dummies;
}

export function computeLayout(input: LayoutInput): LayoutResult {
  const t0 = performance.now();
  let engine = input.engine ?? "auto";
  if (engine === "auto") engine = dagreCost(input) <= DAGRE_BUDGET ? "dagre" : "layered";
  const result = engine === "dagre" ? dagreLayout(input) : layeredLayout(input);
  result.ms = performance.now() - t0;
  return result;
}

function dagreLayout(input: LayoutInput): LayoutResult {
  const g = new dagre.graphlib.Graph({ multigraph: false });
  g.setGraph({ rankdir: "LR", nodesep: input.nodeGap ?? NODE_GAP, ranksep: input.rankGap ?? RANK_GAP, marginx: MARGIN, marginy: MARGIN });
  g.setDefaultEdgeLabel(() => ({}));
  for (let i = 0; i < input.n; i++) g.setNode(String(i), { width: input.nodeWidth, height: input.nodeHeight });
  for (let e = 0; e < input.edges.length; e += 2) g.setEdge(String(input.edges[e]), String(input.edges[e + 1]));
  dagre.layout(g);
  const x = new Float64Array(input.n);
  const y = new Float64Array(input.n);
  for (let i = 0; i < input.n; i++) {
    const node = g.node(String(i));
    x[i] = node.x;
    y[i] = node.y;
  }
  const routes: (number[] | null)[] = [];
  for (let e = 0; e < input.edges.length; e += 2) {
    const label = g.edge(String(input.edges[e]), String(input.edges[e + 1])) as { points?: { x: number; y: number }[] } | undefined;
    routes.push(label?.points ? label.points.flatMap((p) => [p.x, p.y]) : null);
  }
  const graph = g.graph();
  return { x, y, width: graph.width ?? 0, height: graph.height ?? 0, engine: "dagre", routes, ms: 0 };
}

function layeredLayout(input: LayoutInput): LayoutResult {
  const { n, nodeWidth: W, nodeHeight: H } = input;
  const adj = adjacency(n, input.edges);
  const rank = ranks(n, adj);
  let maxRank = 0;
  for (let v = 0; v < n; v++) maxRank = Math.max(maxRank, rank[v]);
  const layers: number[][] = Array.from({ length: maxRank + 1 }, () => []);
  for (let v = 0; v < n; v++) layers[rank[v]].push(v);
  const rel = new Float64Array(n);
  const place = (layer: number[]): void => {
    for (let i = 0; i < layer.length; i++) rel[layer[i]] = (i + 0.5) / layer.length;
  };
  layers.forEach(place);
  // Barycentre ordering: each node's key is the mean position of its neighbours in the layer before, ties kept in
  // the current order. The keys (to 2^-30) and the current position are packed into one number and sorted by the
  // typed array's own numeric sort: no comparator calls (over half a million per 10,000-task layout, most of the
  // layout's time while the code is still cold, as it is on a widget's first draw).
  const packed = new Float64Array(n);
  const order = new Int32Array(n);
  const sweep = (layer: number[], start: Int32Array, list: Int32Array): void => {
    const len = layer.length;
    if (len < 2) return;
    if (len >= SLOT) {
      sweepLarge(layer, start, list);
      return;
    }
    for (let i = 0; i < len; i++) {
      const v = layer[i];
      const s0 = start[v];
      const s1 = start[v + 1];
      let key = rel[v];
      if (s1 > s0) {
        let sum = 0;
        for (let k = s0; k < s1; k++) sum += rel[list[k]];
        key = sum / (s1 - s0);
      }
      packed[i] = Math.round(key * KEY_SCALE) * SLOT + i;
    }
    const sorted = packed.subarray(0, len).sort();
    for (let i = 0; i < len; i++) order[i] = layer[sorted[i] % SLOT];
    for (let i = 0; i < len; i++) layer[i] = order[i];
    place(layer);
  };
  /** The same order for a layer too wide to pack its positions (2^17 nodes or more). */
  const sweepLarge = (layer: number[], start: Int32Array, list: Int32Array): void => {
    const key = new Map<number, number>();
    for (const v of layer) {
      let sum = 0;
      for (let k = start[v]; k < start[v + 1]; k++) sum += rel[list[k]];
      key.set(v, start[v + 1] > start[v] ? sum / (start[v + 1] - start[v]) : rel[v]);
    }
    layer.sort((a, b) => (key.get(a) ?? 0) - (key.get(b) ?? 0) || rel[a] - rel[b]);
    place(layer);
  };
  for (let iter = 0; iter < 4; iter++) {
    for (let r = 1; r <= maxRank; r++) sweep(layers[r], adj.predStart, adj.pred);
    for (let r = maxRank - 1; r >= 0; r--) sweep(layers[r], adj.succStart, adj.succ);
  }
  for (let r = 1; r <= maxRank; r++) sweep(layers[r], adj.predStart, adj.pred);

  const S = H + (input.nodeGap ?? NODE_GAP);
  const rankGap = input.rankGap ?? RANK_GAP;
  const y = new Float64Array(n);
  layers[0]?.forEach((v, i) => (y[v] = i * S));
  const d = new Float64Array(n);
  const w = new Float64Array(n);
  const pack = (layer: number[], start: Int32Array, list: Int32Array, blend: number): void => {
    let last = 0;
    for (let i = 0; i < layer.length; i++) {
      const v = layer[i];
      const s0 = start[v];
      const s1 = start[v + 1];
      let target = i === 0 ? y[v] : last + S;
      if (s1 > s0) {
        let sum = 0;
        for (let k = s0; k < s1; k++) sum += y[list[k]];
        target = blend * y[v] + (1 - blend) * (sum / (s1 - s0));
      }
      d[i] = target;
      w[i] = s1 > s0 ? 1 : 0.05;
      last = target;
    }
    const out = isotonic(d.subarray(0, layer.length), w.subarray(0, layer.length), S);
    for (let i = 0; i < layer.length; i++) y[layer[i]] = out[i];
  };
  for (let r = 1; r <= maxRank; r++) pack(layers[r], adj.predStart, adj.pred, 0);
  for (let r = maxRank - 1; r >= 0; r--) pack(layers[r], adj.succStart, adj.succ, 0.5);
  for (let r = 1; r <= maxRank; r++) pack(layers[r], adj.predStart, adj.pred, 0.5);

  let minY = Infinity;
  let maxY = -Infinity;
  for (let v = 0; v < n; v++) {
    minY = Math.min(minY, y[v]);
    maxY = Math.max(maxY, y[v]);
  }
  if (n === 0) minY = maxY = 0;
  const x = new Float64Array(n);
  for (let v = 0; v < n; v++) {
    x[v] = MARGIN + W / 2 + rank[v] * (W + rankGap);
    y[v] = y[v] - minY + MARGIN + H / 2;
  }
  const width = 2 * MARGIN + (maxRank + 1) * W + maxRank * rankGap;
  const height = 2 * MARGIN + (maxY - minY) + H;
  return { x, y, width, height, engine: "layered", routes: null, ms: 0 };
}

/**
 * Positions closest (weighted least squares) to `d` that keep order and at least `gap` apart:
 * with z_i = y_i - i*gap the constraint is z non-decreasing, solved by pool-adjacent-violators.
 */
export function isotonic(d: Float64Array, w: Float64Array, gap: number): Float64Array {
  const n = d.length;
  // blocks of pooled values: mean, weight and count, as a stack
  const mean = new Float64Array(n);
  const weight = new Float64Array(n);
  const count = new Int32Array(n);
  let top = 0;
  for (let i = 0; i < n; i++) {
    let m = d[i] - i * gap;
    let wt = w[i];
    let c = 1;
    while (top > 0 && mean[top - 1] >= m) {
      top--;
      m = (mean[top] * weight[top] + m * wt) / (weight[top] + wt);
      wt += weight[top];
      c += count[top];
    }
    mean[top] = m;
    weight[top] = wt;
    count[top] = c;
    top++;
  }
  const out = new Float64Array(n);
  let i = 0;
  for (let b = 0; b < top; b++) {
    for (let k = 0; k < count[b]; k++, i++) out[i] = mean[b] + i * gap;
  }
  return out;
}
