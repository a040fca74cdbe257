// Bundles a benchmark entry with esbuild and runs it in node: `node js/bench/run.mjs js/bench/dag-layout.ts`.
import { build } from "esbuild";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const entry = process.argv[2];
const outfile = join(mkdtempSync(join(tmpdir(), "dt-bench-")), "bench.mjs");
await build({ entryPoints: [entry], bundle: true, platform: "node", format: "esm", outfile, logLevel: "warning" });
await import(pathToFileURL(outfile).href);
