// Builds the widget bundle: the layout worker is bundled first and inlined as a string, so the widget can
// start it from a Blob URL (one ESM file, nothing else to serve). plotly.js (basic) is not in the bundle, which
// anywidget sends with every widget: it is written beside it as an ES module (static/plotly.js) that the kernel
// sends once per page when the Charts tab first draws a figure (js/charts/plotly.ts, explorer/assets.py).
import { readFileSync, writeFileSync } from "node:fs";
import { build } from "esbuild";

const common = { bundle: true, minify: true, target: "es2020", logLevel: "warning" };

const worker = await build({ ...common, entryPoints: ["js/dag/layout-worker.ts"], format: "iife", write: false });

await build({
  ...common,
  entryPoints: ["js/widget.ts"],
  format: "esm",
  outfile: "datatailr_jupyter/static/widget.js",
  define: { __LAYOUT_WORKER_SOURCE__: JSON.stringify(worker.outputFiles[0].text) },
  legalComments: "eof",
});

// The UMD bundle as an ES module: it sees a CommonJS `module`, whose export becomes the default export (it also
// sets window.Plotly, as it always did).
const plotly = readFileSync("node_modules/plotly.js-basic-dist-min/plotly-basic.min.js", "utf8");
writeFileSync(
  "datatailr_jupyter/static/plotly.js",
  `const module = { exports: {} };\nconst exports = module.exports;\n${plotly}\nexport default module.exports;\n`,
);
