// Layout times (what the worker does) for synthetic DAGs; run with `npm run bench:dag`. Prints, never asserts.
import { computeLayout, dagreCost } from "../dag/layout";
import { layers, mapReduce, synthetic } from "./synth";

function time(label: string, make: () => ReturnType<typeof synthetic>, engine: "auto" | "dagre" | "layered", runs = 3): void {
  const input = { ...make(), engine };
  const times: number[] = [];
  let chosen = "";
  for (let i = 0; i < runs; i++) {
    const r = computeLayout(input);
    times.push(r.ms);
    chosen = r.engine;
  }
  times.sort((a, b) => a - b);
  const edges = input.edges.length / 2;
  console.log(
    `${label.padEnd(26)} n=${String(input.n).padStart(6)} edges=${String(edges).padStart(6)} cost=${String(dagreCost(input)).padStart(6)}` +
      `  ${chosen.padEnd(7)} median ${times[Math.floor(times.length / 2)].toFixed(1).padStart(8)} ms`,
  );
}

computeLayout({ ...synthetic(60), engine: "dagre" }); // warm up
for (const n of [50, 100]) time(`random ${n} (dagre)`, () => synthetic(n), "dagre");
for (const n of [100, 500]) time(`map-reduce ${n} (dagre)`, () => mapReduce(n), "dagre");
for (const n of [500, 2000, 10000]) time(`random ${n} (auto)`, () => synthetic(n), "auto");
for (const n of [500, 2000, 10000]) time(`map-reduce ${n} (auto)`, () => mapReduce(n), "auto");
for (const n of [2000, 10000]) time(`layers ${n} (explorer bench)`, () => layers(n), "layered", 5);
