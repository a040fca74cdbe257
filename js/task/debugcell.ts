// "Debug in cell": the kernel writes a cell that calls the task again with the inputs its run passed it
// (Client.debug_code); the labextension inserts it below the explorer, else it is copied to the clipboard.
import type { Ctx } from "../app";
import { button, h } from "../dom";
import { errorText } from "../protocol";
import { INSERT_EVENT, type InsertCellDetail } from "../results/resultview";
import { copyText } from "../ui";

export function debugButton(ctx: Ctx, runId: number, taskId: number): HTMLElement {
  const status = h("span", { class: "dt-muted dt-small", testid: "dt-debug-status", attrs: { role: "status" } });
  const b = button("Debug in cell", "dt-debug-cell", () => void run(), "dt-btn dt-btn-small");
  b.title = "Insert a cell below that calls this task again with the inputs this run passed it";
  let busy = false;
  const run = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    b.disabled = true;
    status.className = "dt-muted dt-small";
    status.textContent = "Preparing…";
    try {
      const { code } = await ctx.api.request("debug-code", { run_id: runId, task_id: taskId }, { timeoutMs: 60_000 });
      const event = new CustomEvent<InsertCellDetail>(INSERT_EVENT, { detail: { code }, bubbles: true, composed: true, cancelable: true });
      const unhandled = ctx.el.dispatchEvent(event);
      if (!unhandled) status.textContent = "Inserted a debug cell below; run it to call the task again.";
      else status.textContent = (await copyText(code)) ? "The debug cell's code is on your clipboard." : "Could not insert or copy the code.";
    } catch (err) {
      status.className = "dt-error dt-small";
      status.textContent = `Could not prepare the debug cell: ${errorText(err)}`;
    } finally {
      busy = false;
      b.disabled = false;
    }
  };
  return h("span", { class: "dt-debugbar" }, b, status);
}
