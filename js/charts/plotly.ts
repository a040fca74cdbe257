// Plotly, loaded only when a chart is first drawn. It is not in the widget's bundle (anywidget sends that with
// every widget): the kernel sends static/plotly.js once per page as a binary buffer (a `plotly-source` request,
// datatailr_jupyter/explorer/assets.py) and it is imported from a Blob URL. The loaded module is kept on the page
// (globalThis), so a second chart or a second widget, whose bundle is a module of its own, does not fetch it again;
// a page that already has window.Plotly uses that one.
import type { MessageModel } from "../protocol";

export interface PlotlyLike {
  react(el: HTMLElement, data: unknown[], layout: Record<string, unknown>, config?: Record<string, unknown>): Promise<unknown>;
  purge(el: HTMLElement): void;
  Plots?: { resize(el: HTMLElement): void };
}

/** The comm, with the binary buffers of its messages. */
export interface AssetModel extends MessageModel {
  send(content: unknown, callbacks?: unknown, buffers?: ArrayBuffer[] | ArrayBufferView[]): void;
}

export const PLOTLY_TIMEOUT_MS = 60_000;
/** The page's copy of plotly, shared by every widget of the page. */
const PAGE_KEY = Symbol.for("datatailr_jupyter.plotly");

interface PageEntry {
  plotly: Promise<PlotlyLike> | null;
  /** How many times the page asked a kernel for plotly's code (the tests and the Charts tab's data-*). */
  fetches: number;
}

type Importer = (code: Blob) => Promise<unknown>;

/** Imports an ES module from its code (a Blob URL; the browser compiles it off the main thread where it can). */
const blobImport: Importer = async (code) => {
  const url = URL.createObjectURL(code);
  try {
    return ((await import(/* @vite-ignore */ url)) as { default?: unknown }).default;
  } finally {
    URL.revokeObjectURL(url);
  }
};

let importer: Importer = blobImport;
let override: PlotlyLike | null = null;

/** Tests: draw with this object instead of loading plotly (null: load it again). */
export function setPlotly(p: PlotlyLike | null): void {
  override = p;
  delete (globalThis as Record<symbol, unknown>)[PAGE_KEY];
}

/** Tests: how a module is imported from its code (jsdom has no Blob URL import); null for the browser's. */
export function setImporter(fn: Importer | null): void {
  importer = fn ?? blobImport;
}

function page(): PageEntry | undefined {
  return (globalThis as Record<symbol, PageEntry | undefined>)[PAGE_KEY];
}

/** How many times this page fetched plotly's code from a kernel. */
export function plotlyFetches(): number {
  return page()?.fetches ?? 0;
}

function isPlotly(v: unknown): v is PlotlyLike {
  return typeof v === "object" && v !== null && typeof (v as PlotlyLike).react === "function";
}

/** Asks the kernel for plotly's code: the bytes of the response's one buffer. */
function fetchSource(model: AssetModel, timeoutMs: number): Promise<DataView> {
  return new Promise((resolve, reject) => {
    const id = Math.floor(Math.random() * 2 ** 31) * 1000 + 999;
    const done = (): void => {
      clearTimeout(timer);
      model.off("msg:custom", onMessage);
    };
    const onMessage = (msg: unknown, buffers: DataView[]): void => {
      const m = msg as { kind?: unknown; id?: unknown; error?: { message?: unknown } };
      if (typeof m !== "object" || m === null || m.kind !== "plotly-source-response" || m.id !== id) return;
      done();
      const buffer = buffers?.[0];
      if (m.error) reject(new Error(typeof m.error.message === "string" ? m.error.message : "The kernel could not send plotly.js."));
      else if (!buffer?.byteLength) reject(new Error("The kernel's answer carried no plotly.js code; are the kernel package and the widget the same version?"));
      else resolve(buffer);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`The kernel did not send plotly.js within ${Math.round(timeoutMs / 1000)} s; it may be busy running a cell.`));
    }, timeoutMs);
    model.on("msg:custom", onMessage);
    try {
      model.send({ kind: "plotly-source", id, payload: {} });
    } catch (err) {
      done();
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
}

async function fetchPlotly(model: AssetModel, timeoutMs: number): Promise<PlotlyLike> {
  const code = await fetchSource(model, timeoutMs);
  const bytes = new Uint8Array(code.buffer as ArrayBuffer, code.byteOffset, code.byteLength);
  const mod = await importer(new Blob([bytes], { type: "text/javascript" }));
  if (!isPlotly(mod)) throw new Error("The plotly.js module the kernel sent has no Plotly object.");
  return mod;
}

/** plotly: the page's (window.Plotly, or one this or another widget loaded), else fetched through `model`. */
export function loadPlotly(model: AssetModel, timeoutMs = PLOTLY_TIMEOUT_MS): Promise<PlotlyLike> {
  if (override) return Promise.resolve(override);
  const existing = (globalThis as { Plotly?: unknown }).Plotly;
  if (isPlotly(existing)) return Promise.resolve(existing);
  const scope = globalThis as Record<symbol, PageEntry | undefined>;
  const entry = (scope[PAGE_KEY] ??= { plotly: null, fetches: 0 });
  if (!entry.plotly) {
    const loading = fetchPlotly(model, timeoutMs);
    entry.plotly = loading;
    entry.fetches++;
    // a failed load is asked again the next time (the kernel may have been busy, or restarted)
    loading.catch(() => {
      if (entry.plotly === loading) entry.plotly = null;
    });
  }
  return entry.plotly;
}
