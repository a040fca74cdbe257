// Plotly, loaded only when a chart is first drawn. The widget is one ES module that anywidget loads from a
// string (no files next to it to import), so the plotly.js-basic-dist-min bundle is inlined as text by
// js/build.mjs and evaluated on first use; a page that already has window.Plotly uses that one.

declare const __PLOTLY_SOURCE__: string;

export interface PlotlyLike {
  react(el: HTMLElement, data: unknown[], layout: Record<string, unknown>, config?: Record<string, unknown>): Promise<unknown>;
  purge(el: HTMLElement): void;
  Plots?: { resize(el: HTMLElement): void };
}

let loaded: Promise<PlotlyLike> | null = null;
let override: PlotlyLike | null = null;

/** Tests: use this object instead of the bundled plotly (null: back to the bundle). */
export function setPlotly(p: PlotlyLike | null): void {
  override = p;
  loaded = null;
}

export function loadPlotly(): Promise<PlotlyLike> {
  if (override) return Promise.resolve(override);
  if (!loaded) {
    loaded = new Promise<PlotlyLike>((resolve, reject) => {
      const existing = (globalThis as { Plotly?: PlotlyLike }).Plotly;
      if (existing && typeof existing.react === "function") {
        resolve(existing);
        return;
      }
      const source = typeof __PLOTLY_SOURCE__ === "string" ? __PLOTLY_SOURCE__ : "";
      if (!source) {
        reject(new Error("plotly.js is not part of this build of the widget"));
        return;
      }
      try {
        const module = { exports: {} as unknown };
        // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the bundled plotly.js, not run data
        new Function("module", "exports", source)(module, module.exports);
        resolve(module.exports as PlotlyLike);
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
    loaded.catch(() => {
      loaded = null;
    });
  }
  return loaded;
}
