// The Result tab: what the task returned (type, shape, size, codec), a bounded preview, and "Load into cell".
import type { Ctx } from "../app";
import { button, h, setChildren } from "../dom";
import { formatBytes, formatCount } from "../format";
import { Latest, errorText } from "../protocol";
import type { Preview, ResultMeta } from "../types";
import { copyText, errorBox, loading, note } from "../ui";

export const INSERT_EVENT = "datatailr:insert-cell";

export interface InsertCellDetail {
  code: string;
}

export function labextActive(): boolean {
  return document.body?.dataset.datatailrLabext === "1";
}

/** The stored result is the task returning None (a JSON null). */
export function returnedNone(meta: ResultMeta | null | undefined): boolean {
  return !!meta && (meta.python_type === "builtins.NoneType" || meta.python_type === "NoneType");
}

export const RETURNED_NONE = "The task returned None.";

function shapeText(meta: ResultMeta): string {
  if (meta.shape && meta.shape.length) return meta.shape.map((n) => formatCount(n)).join(" × ");
  if (meta.length !== null && meta.length !== undefined) return `length ${formatCount(meta.length)}`;
  return "";
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

export function previewTable(p: Extract<Preview, { kind: "table" }>): HTMLElement {
  const head = h("tr", {}, ...p.columns.map((c) => h("th", { title: `${c.name}: ${c.dtype}` }, c.name, h("span", { class: "dt-dtype", text: c.dtype }))));
  const body = h("tbody");
  for (const row of p.rows) {
    const tr = h("tr");
    row.forEach((v) => {
      const text = cellText(v);
      const td = h("td", { text, title: text.length > 40 ? text : undefined });
      if (typeof v === "number") td.className = "dt-num";
      tr.appendChild(td);
    });
    body.appendChild(tr);
  }
  const shownCols = p.columns.length;
  const totalCols = typeof p.total_columns === "number" ? p.total_columns : shownCols;
  const counts = [`showing ${formatCount(p.rows.length)} of ${formatCount(p.total_rows)} rows`];
  if (totalCols > shownCols) counts.push(`${formatCount(shownCols)} of ${formatCount(totalCols)} columns`);
  return h(
    "div",
    {},
    h("div", { class: "dt-preview-scroll" }, h("table", { class: "dt-preview", testid: "dt-result-table" }, h("thead", {}, head), body)),
    h("div", { class: "dt-small dt-muted", testid: "dt-result-rows", text: counts.join(" · ") }),
  );
}

export class ResultView {
  readonly el = h("div", { class: "dt-result", testid: "dt-result" });
  private readonly status = h("div", { class: "dt-ok", testid: "dt-load-status", attrs: { role: "status" } });
  private readonly latest = new Latest();
  private busy = false;

  constructor(
    private readonly ctx: Ctx,
    private readonly runId: number,
    private readonly taskId: number,
  ) {
    void this.load();
  }

  private async load(): Promise<void> {
    const signal = this.latest.next();
    setChildren(this.el, loading("Loading result…", "dt-result-loading"));
    try {
      const res = await this.ctx.api.request("get-result", { run_id: this.runId, task_id: this.taskId }, { signal });
      this.show(res.meta ?? null, res.preview);
    } catch (err) {
      const box = errorBox("Could not load the result", err, () => void this.load(), "dt-result-error");
      if (box) setChildren(this.el, box);
    }
  }

  private show(meta: ResultMeta | null, preview: Preview): void {
    const parts: HTMLElement[] = [];
    if (returnedNone(meta)) {
      setChildren(this.el, note(RETURNED_NONE, "dt-result-none"));
      return;
    }
    if (meta) {
      const shape = shapeText(meta);
      parts.push(
        h(
          "div",
          { class: "dt-resultmeta", testid: "dt-result-meta" },
          h("span", {}, h("b", { text: "Type " }), h("span", { class: "dt-mono", text: meta.python_type })),
          shape ? h("span", {}, h("b", { text: "Shape " }), shape) : null,
          h("span", {}, h("b", { text: "Size " }), formatBytes(meta.bytes)),
          h("span", {}, h("b", { text: "Codec " }), meta.codec),
        ),
      );
      const label = labextActive() ? "Load into cell" : "Load into variable";
      const load = button(label, "dt-load-cell", () => void this.loadIntoCell(load), "dt-btn dt-btn-primary");
      load.title = labextActive()
        ? "Insert a code cell below this one that loads the value"
        : "Load the value into a variable in the kernel and copy the code";
      parts.push(h("div", { class: "dt-loadbar" }, load, this.status));
    }
    if (preview.kind === "table") parts.push(previewTable(preview));
    else if (preview.kind === "text") parts.push(h("pre", { class: "dt-pre", testid: "dt-result-text", text: preview.text }));
    else parts.push(note(preview.text || "No result stored for this task.", "dt-result-none"));
    setChildren(this.el, ...parts);
  }

  /** Ask the kernel for the code; the labextension inserts it as a cell, else the kernel binds the variable. */
  private async loadIntoCell(btn: HTMLButtonElement): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    btn.disabled = true;
    this.status.textContent = "Preparing…";
    try {
      const { code, variable } = await this.ctx.api.request("load-code", { run_id: this.runId, task_id: this.taskId });
      const event = new CustomEvent<InsertCellDetail>(INSERT_EVENT, { detail: { code }, bubbles: true, composed: true, cancelable: true });
      const unhandled = this.ctx.el.dispatchEvent(event);
      if (!unhandled) {
        this.status.textContent = `Inserted a cell below: ${variable} = …`;
        return;
      }
      const bound = await this.ctx.api.request("bind-result", { run_id: this.runId, task_id: this.taskId, variable });
      const copied = await copyText(code);
      this.status.textContent = copied
        ? `Loaded into variable \`${bound.variable}\` in the kernel; the code is on your clipboard`
        : `Loaded into variable \`${bound.variable}\` in the kernel; copy this: ${code}`;
    } catch (err) {
      this.status.textContent = `Could not load the result: ${errorText(err)}`;
      this.status.className = "dt-error";
    } finally {
      this.busy = false;
      btn.disabled = false;
    }
  }

  dispose(): void {
    this.latest.cancel();
  }
}
