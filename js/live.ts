// Live updates: tell the kernel what the view shows ("live-subscribe": run-table query, env, selected run, and
// whether the explorer is visible at all), pass its pushed answers to the parts as the bus's "live" event, and say
// quietly when a request waits for a busy kernel.
import { type Ctx, listen, onTraits, selectedRun } from "./app";
import { canonical } from "./livecache";
import { h } from "./dom";

export const BUSY_TEXT = "the kernel is busy; this loads when the running cell finishes";

export interface SubscribePayload {
  list_runs: Record<string, unknown> | null;
  env: string;
  run_id: number;
  visible: boolean;
  /** This view (a new view gets every answer pushed again). */
  view: string;
}

export class LiveLink {
  /** The quiet note shown while a request waits for a busy kernel. */
  readonly note = h("div", { class: "dt-busy-note", testid: "dt-busy-note", attrs: { role: "status", hidden: "" } });
  private query: Record<string, unknown> | null = null;
  private onScreen = true;
  private sent = "";
  private queued = false;
  private readonly view = Math.random().toString(36).slice(2, 10);

  constructor(private readonly ctx: Ctx) {
    const { api, bus, d } = ctx;
    d.add(api.onLive((keys) => bus.emit("live", keys)));
    d.add(
      api.onBusy((waiting) => {
        this.note.hidden = waiting === 0;
        this.note.textContent = waiting ? BUSY_TEXT : "";
      }),
    );
    listen(ctx, "runs-query", (q) => {
      this.query = q;
      this.update();
    });
    onTraits(ctx, ["env", "selected_run", "workflow"], () => this.update());
    if (typeof IntersectionObserver !== "undefined") {
      const io = new IntersectionObserver((entries) => {
        const last = entries[entries.length - 1];
        if (!last) return;
        this.onScreen = last.isIntersecting;
        this.update();
      });
      io.observe(ctx.root);
      d.add(() => io.disconnect());
    }
    d.listen(document, "visibilitychange", () => this.update());
    // closed: the kernel stops following this view
    d.add(() => this.send({ ...this.payload(), visible: false }));
    this.update();
  }

  payload(): SubscribePayload {
    const m = this.ctx.model;
    return {
      list_runs: m.get("workflow") ? this.query : null,
      env: m.get("env") ?? "",
      run_id: selectedRun(this.ctx),
      visible: this.onScreen && document.visibilityState !== "hidden",
      view: this.view,
    };
  }

  /** Send the subscription (once per task, and only when it changed). */
  private update(): void {
    if (this.queued) return;
    this.queued = true;
    queueMicrotask(() => {
      this.queued = false;
      if (!this.ctx.d.disposed) this.send(this.payload());
    });
  }

  private send(payload: SubscribePayload): void {
    const text = canonical(payload);
    if (text === this.sent) return;
    this.sent = text;
    try {
      this.ctx.model.send({ kind: "live-subscribe", payload });
    } catch (err) {
      console.error("[datatailr] could not subscribe to live updates", err);
    }
  }
}
