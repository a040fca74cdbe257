import { defineConfig } from "vitest/config";

export default defineConfig({
  define: {
    // The layout worker's source is inlined by js/build.mjs; tests use the synchronous fallback.
    __LAYOUT_WORKER_SOURCE__: JSON.stringify(""),
    // plotly.js is inlined by js/build.mjs too; tests draw with a fake (js/charts/plotly.ts setPlotly).
    __PLOTLY_SOURCE__: JSON.stringify(""),
  },
  test: {
    environment: "jsdom",
    include: ["js/**/*.test.ts"],
    testTimeout: 20_000,
  },
});
