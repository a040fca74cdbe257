// Builds the widget bundle: the layout worker is bundled first and inlined as a string, so the widget can
// start it from a Blob URL (one ESM file, nothing else to serve). plotly.js (basic) is inlined as text too and only
// evaluated when the Charts tab first draws a figure (js/charts/plotly.ts).
import { readFileSync } from "node:fs";
import { build } from "esbuild";

const common = { bundle: true, minify: true, target: "es2020", logLevel: "warning" };

const worker = await build({ ...common, entryPoints: ["js/dag/layout-worker.ts"], format: "iife", write: false });

await build({
  ...common,
  entryPoints: ["js/widget.ts"],
  format: "esm",
  outfile: "datatailr_jupyter/static/widget.js",
  define: {
    __LAYOUT_WORKER_SOURCE__: JSON.stringify(worker.outputFiles[0].text),
    __PLOTLY_SOURCE__: JSON.stringify(readFileSync("node_modules/plotly.js-basic-dist-min/plotly-basic.min.js", "utf8")),
  },
  legalComments: "eof",
});
