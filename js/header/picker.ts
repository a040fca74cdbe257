// Searchable workflow picker: a text box filtering the whole list (no cap), each entry with its last state
// and a strip of recent states. Keyboard: arrows move, Enter picks, Escape closes.
import { type Ctx, onTraits } from "../app";
import { h, setChildren } from "../dom";
import { formatCount, stateLabel } from "../format";
import type { WorkflowInfo } from "../types";
import { stateDot } from "../ui";

const ALL: WorkflowInfo = {
  key: "",
  name: "All workflows",
  env: "",
  n_tasks: 0,
  schedule: null,
  latest_version: 0,
  n_runs: 0,
  last_run_id: null,
  last_state: null,
  last_start_time: null,
  recent_states: [],
};

export class WorkflowPicker {
  readonly el: HTMLElement;
  private readonly input = h("input", {
    class: "dt-input",
    testid: "dt-workflow-input",
    attrs: {
      type: "text",
      role: "combobox",
      "aria-expanded": "false",
      "aria-autocomplete": "list",
      "aria-label": "Workflow",
      placeholder: "Search workflows…",
      autocomplete: "off",
      spellcheck: "false",
    },
  });
  private readonly list = h("div", { class: "dt-combo-list", testid: "dt-workflow-list", attrs: { role: "listbox", hidden: "" } });
  private workflows: WorkflowInfo[] = [];
  private shown: WorkflowInfo[] = [];
  private active = 0;
  private loading = false;

  constructor(
    private readonly ctx: Ctx,
    private readonly pick: (key: string) => void,
  ) {
    const d = ctx.d;
    this.el = h("span", { class: "dt-combo" }, this.input, this.list);
    d.listen(this.input, "focus", () => {
      this.input.select();
      this.open("");
    });
    d.listen(this.input, "input", () => this.open(this.input.value));
    d.listen(this.input, "keydown", (ev: KeyboardEvent) => this.onKey(ev));
    d.listen(this.input, "blur", () => {
      // Let a click on an item land first.
      setTimeout(() => this.close(), 150);
    });
    onTraits(ctx, ["workflow"], () => this.showSelected());
    this.showSelected();
  }

  setLoading(): void {
    this.loading = true;
    if (!this.list.hidden) this.render();
  }

  setWorkflows(workflows: WorkflowInfo[]): void {
    this.loading = false;
    this.workflows = workflows;
    if (!this.list.hidden) this.open(this.input.value === this.selectedName() ? "" : this.input.value);
    this.showSelected();
  }

  private selectedName(): string {
    const key = this.ctx.model.get("workflow") ?? "";
    if (!key) return ALL.name;
    return this.workflows.find((w) => w.key === key)?.name ?? key;
  }

  private showSelected(): void {
    if (document.activeElement !== this.input) this.input.value = this.selectedName();
    this.input.title = this.selectedName();
  }

  private open(query: string): void {
    const q = query.trim().toLowerCase();
    const matches = q
      ? this.workflows.filter((w) => w.name.toLowerCase().includes(q) || w.key.includes(q))
      : this.workflows;
    this.shown = q ? matches : [ALL, ...matches];
    const key = this.ctx.model.get("workflow") ?? "";
    this.active = Math.max(0, q ? 0 : this.shown.findIndex((w) => w.key === key));
    this.list.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
    this.render();
  }

  private close(): void {
    this.list.hidden = true;
    this.input.setAttribute("aria-expanded", "false");
    this.showSelected();
  }

  private render(): void {
    const frag = document.createDocumentFragment();
    this.shown.forEach((w, i) => {
      const item = h(
        "div",
        {
          class: "dt-combo-item",
          testid: "dt-workflow-option",
          attrs: { role: "option", "aria-selected": String(i === this.active), "data-key": w.key },
          title: w.key && w.key !== w.name ? `${w.name} (${w.key})` : w.name,
        },
        w.key ? stateDot(w.last_state, w.last_state ? `last run: ${stateLabel(w.last_state)}` : "no runs yet") : null,
        h("span", { class: "dt-combo-name", text: w.name }),
        w.key ? strip(w.recent_states) : null,
        w.key ? h("span", { class: "dt-muted dt-small", text: `${formatCount(w.n_runs)} runs` }) : null,
      );
      item.addEventListener("mousedown", (ev) => {
        ev.preventDefault();
        this.choose(w);
      });
      frag.appendChild(item);
    });
    if (this.loading) frag.appendChild(h("div", { class: "dt-note", text: "Loading workflows…" }));
    else if (!this.shown.length) frag.appendChild(h("div", { class: "dt-note", text: "No workflow matches." }));
    setChildren(this.list, frag);
  }

  private choose(w: WorkflowInfo): void {
    this.input.blur();
    this.list.hidden = true;
    this.input.setAttribute("aria-expanded", "false");
    this.pick(w.key);
    this.input.value = w.name;
  }

  private onKey(ev: KeyboardEvent): void {
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      if (this.list.hidden) this.open(this.input.value);
      const step = ev.key === "ArrowDown" ? 1 : -1;
      this.active = Math.min(this.shown.length - 1, Math.max(0, this.active + step));
      this.render();
      this.list.querySelectorAll(".dt-combo-item")[this.active]?.scrollIntoView?.({ block: "nearest" });
    } else if (ev.key === "Enter") {
      ev.preventDefault();
      const w = this.shown[this.active];
      if (w) this.choose(w);
    } else if (ev.key === "Escape") {
      this.input.blur();
      this.close();
    }
  }
}

/** Recent run states as small bars, in the order the kernel gives them. */
function strip(states: string[]): HTMLElement {
  const el = h("span", { class: "dt-strip", title: `recent runs: ${states.map(stateLabel).join(", ") || "none"}` });
  for (const s of states.slice(0, 12)) el.appendChild(stateDot(s));
  return el;
}
