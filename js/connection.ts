// The "store unreachable" banner: shown when the kernel answers that the run store (a `dt serve` server) cannot be
// reached, it probes the store every few seconds; the first answer that works hides it and refreshes the explorer,
// so the regions that failed while the store was away load again by themselves.
import { type Ctx } from "./app";
import { h } from "./dom";

export const UNREACHABLE = "StoreUnavailableError";
export const RETRY_MS = 5_000;

export class ConnectionBanner {
  readonly el = h("div", {
    class: "dt-unreachable",
    testid: "dt-unreachable",
    attrs: { role: "alert", hidden: "" },
  });
  private down = false;
  private probing = false;

  constructor(private readonly ctx: Ctx) {
    ctx.d.add(
      ctx.api.observe((_kind, error) => {
        if (error?.type === UNREACHABLE) this.lost(error.message);
        else if (!error) this.back();
      }),
    );
    ctx.d.interval(() => void this.probe(), RETRY_MS);
  }

  get unreachable(): boolean {
    return this.down;
  }

  private lost(detail: string): void {
    this.el.textContent = "store unreachable — retrying";
    this.el.title = detail;
    this.el.hidden = false;
    this.down = true;
  }

  private back(): void {
    if (!this.down) return;
    this.down = false;
    this.el.hidden = true;
    this.el.textContent = "";
    this.ctx.bus.emit("refresh", null);
  }

  /** While the store is away: one cheap request at a time (its answer, good or bad, updates the banner). */
  private async probe(): Promise<void> {
    if (!this.down || this.probing || this.ctx.d.disposed) return;
    this.probing = true;
    try {
      await this.ctx.api.request("list-workflows", { env: this.ctx.model.get("env") ?? "" });
    } catch {
      // the answer went through the observer, which keeps the banner (with the reason in its title) up
    } finally {
      this.probing = false;
    }
  }
}
