// Runs layouts in a Web Worker built from a Blob URL for graphs that would block the page, and inline for the
// rest and when Workers are unavailable or fail.
import { computeLayout, type LayoutInput, type LayoutResult } from "./layout";

/** The worker bundle's source, inlined at build time (js/build.mjs); "" in tests. */
declare const __LAYOUT_WORKER_SOURCE__: string;

const WORKER_TIMEOUT_MS = 30_000;
/** Graphs this small are laid out inline: quicker than starting the worker, and too fast to block. */
const INLINE_MAX_NODES = 40;
/**
 * Layered layouts up to this size (nodes + edges) run at once on the main thread, in the task that drew the
 * run's header: linear-time, 20–50 ms for 10,000 tasks and 15,000 edges in Chromium (its code still cold), where
 * a worker's round trip waits for the worker to start and for the main thread to be free (100–500 ms on a busy
 * 2-core machine).
 */
export const SYNC_MAX_SIZE = 40_000;

interface Job {
  input: LayoutInput;
  resolve: (r: LayoutResult) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** A worker started ahead of the first layout (see prewarmLayoutWorker), taken by the first client that needs one. */
let warm: { worker: Worker; url: string } | null = null;

function startWorker(): { worker: Worker; url: string } | null {
  const source = typeof __LAYOUT_WORKER_SOURCE__ === "string" ? __LAYOUT_WORKER_SOURCE__ : "";
  if (!source || typeof Worker === "undefined" || typeof Blob === "undefined" || typeof URL.createObjectURL !== "function") {
    return null;
  }
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  try {
    return { worker: new Worker(url), url };
  } catch (err) {
    URL.revokeObjectURL(url);
    throw err;
  }
}

/**
 * Start the layout worker now, for a graph of `n` nodes about to be laid out: its start (a new thread parsing
 * the worker's code, about 40 ms) then overlaps the main thread's decoding of the run instead of following it.
 */
export function prewarmLayoutWorker(n: number): void {
  if (warm || 2 * n <= SYNC_MAX_SIZE) return; // a run has at least about one dependency per task
  try {
    warm = startWorker();
  } catch {
    warm = null;
  }
}

export class LayoutClient {
  private worker: Worker | null = null;
  private url: string | null = null;
  private broken = false;
  private nextId = 1;
  private readonly jobs = new Map<number, Job>();
  /** Where the last layout ran, for the status line and the tests. */
  lastMode: "worker" | "inline" = "inline";

  private start(): Worker | null {
    if (this.worker || this.broken) return this.worker;
    try {
      const started = warm ?? startWorker();
      warm = null;
      if (!started) {
        this.broken = true;
        return null;
      }
      this.url = started.url;
      const worker = started.worker;
      worker.addEventListener("message", (ev: MessageEvent<{ id: number; result?: LayoutResult; error?: string }>) => {
        const job = this.jobs.get(ev.data.id);
        if (!job) return;
        this.jobs.delete(ev.data.id);
        clearTimeout(job.timer);
        if (ev.data.result) job.resolve(ev.data.result);
        else job.reject(new Error(ev.data.error ?? "layout failed"));
      });
      worker.addEventListener("error", (ev) => {
        ev.preventDefault();
        this.fail();
      });
      this.worker = worker;
      return worker;
    } catch {
      this.fail();
      return null;
    }
  }

  /** The worker cannot be used (blocked by the page, crashed, or stuck): run every waiting job inline. */
  private fail(): void {
    this.broken = true;
    this.stop();
    for (const [id, job] of [...this.jobs]) {
      this.jobs.delete(id);
      clearTimeout(job.timer);
      this.inline(job.input).then(job.resolve, job.reject);
    }
  }

  private inline(input: LayoutInput): Promise<LayoutResult> {
    this.lastMode = "inline";
    return new Promise((resolve, reject) => {
      // Let the "laying out" message paint first.
      setTimeout(() => {
        try {
          resolve(computeLayout(input));
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      }, 0);
    });
  }

  layout(input: LayoutInput): Promise<LayoutResult> {
    if (input.n <= INLINE_MAX_NODES) return this.inline(input);
    if (input.engine === "layered" && input.n + input.edges.length / 2 <= SYNC_MAX_SIZE) {
      this.lastMode = "inline";
      try {
        return Promise.resolve(computeLayout(input));
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    }
    const worker = this.start();
    if (!worker) return this.inline(input);
    this.lastMode = "worker";
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      const timer = setTimeout(() => this.fail(), WORKER_TIMEOUT_MS);
      this.jobs.set(id, { input, resolve, reject, timer });
      worker.postMessage({ id, input });
    });
  }

  private stop(): void {
    this.worker?.terminate();
    this.worker = null;
    if (this.url) URL.revokeObjectURL(this.url);
    this.url = null;
  }

  dispose(): void {
    this.broken = true;
    this.stop();
    if (warm) {
      // started for this widget's run, which it no longer shows
      warm.worker.terminate();
      URL.revokeObjectURL(warm.url);
      warm = null;
    }
    for (const job of this.jobs.values()) clearTimeout(job.timer);
    this.jobs.clear();
  }
}
