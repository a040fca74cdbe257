// Runs layouts in a Web Worker built from a Blob URL, and inline when Workers are unavailable or fail.
import { computeLayout, type LayoutInput, type LayoutResult } from "./layout";

/** The worker bundle's source, inlined at build time (js/build.mjs); "" in tests. */
declare const __LAYOUT_WORKER_SOURCE__: string;

const WORKER_TIMEOUT_MS = 30_000;
/** Graphs this small are laid out inline: quicker than starting the worker, and too fast to block. */
const INLINE_MAX_NODES = 40;

interface Job {
  input: LayoutInput;
  resolve: (r: LayoutResult) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
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
    const source = typeof __LAYOUT_WORKER_SOURCE__ === "string" ? __LAYOUT_WORKER_SOURCE__ : "";
    if (!source || typeof Worker === "undefined" || typeof Blob === "undefined" || typeof URL.createObjectURL !== "function") {
      this.broken = true;
      return null;
    }
    try {
      this.url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
      const worker = new Worker(this.url);
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
    for (const job of this.jobs.values()) clearTimeout(job.timer);
    this.jobs.clear();
  }
}
