// The header: workflow picker, environment, date range, state filter, refresh, store label and notice line.
import { type Ctx, listen, liveHas, onTraits, setTraits } from "../app";
import { button, h, setChildren } from "../dom";
import { DATE_INPUT_FORMAT, type Preset, matchPreset, parseLocalInput, presetRange, stateLabel, toLocalInput, zoneLabel } from "../format";
import { Latest } from "../protocol";
import { RUN_STATES } from "../types";
import { errorBox, stateDot } from "../ui";
import { WorkflowPicker } from "./picker";

const PRESETS: Preset[] = ["24h", "7d", "30d", "all"];

export class Header {
  readonly el: HTMLElement;
  private readonly picker: WorkflowPicker;
  private readonly env = h("select", { class: "dt-input", testid: "dt-env", attrs: { "aria-label": "Environment" } });
  private readonly start = dateInput("dt-start", "From", "any time");
  private readonly end = dateInput("dt-end", "To", "now");
  private readonly zone = h("span", { class: "dt-label dt-zone", testid: "dt-time-zone" });
  private readonly presetButtons = new Map<Preset, HTMLButtonElement>();
  private readonly statesButton = h("button", { class: "dt-btn", testid: "dt-states-button", attrs: { type: "button", "aria-haspopup": "true" } });
  private readonly statesMenu = h("div", { class: "dt-menu-pop", testid: "dt-states-menu", attrs: { hidden: "" } });
  private readonly store = h("span", { class: "dt-store", testid: "dt-store-label" });
  private readonly message = h("div", { class: "dt-message", testid: "dt-message", attrs: { role: "status" } });
  private readonly rangeError = h("div", { class: "dt-range-error", testid: "dt-range-error", attrs: { role: "alert" } });
  private readonly wfError = h("div", { testid: "dt-workflows-error" });
  private readonly latest = new Latest();

  constructor(private readonly ctx: Ctx) {
    const d = ctx.d;
    d.add(() => this.latest.cancel());
    this.picker = new WorkflowPicker(ctx, (key) =>
      setTraits(ctx, { workflow: key, selected_run: 0, selected_task: -1 }),
    );
    d.listen(this.env, "change", () => setTraits(ctx, { env: this.env.value, selected_run: 0, selected_task: -1 }));
    for (const input of [this.start, this.end]) {
      d.listen(input, "change", () => this.applyRange());
      d.listen(input, "keydown", (ev: KeyboardEvent) => {
        if (ev.key === "Enter") {
          ev.preventDefault();
          this.applyRange();
        } else if (ev.key === "Escape") {
          this.syncRange();
        }
      });
    }
    const presets = h("span", { class: "dt-presets", attrs: { role: "group", "aria-label": "Date presets" } });
    for (const p of PRESETS) {
      const b = button(p === "all" ? "All" : p, `dt-preset-${p}`, () => {
        this.showRangeError("");
        setTraits(ctx, presetRange(p));
        this.syncRange();
      });
      b.title = p === "all" ? "Runs of any date" : `Runs started in the last ${p}`;
      this.presetButtons.set(p, b);
      presets.appendChild(b);
    }
    d.listen(this.statesButton, "click", () => this.toggleStates());
    d.listen(document, "pointerdown", (ev: Event) => {
      const t = ev.target;
      if (t instanceof Node && !this.statesMenu.contains(t) && t !== this.statesButton) this.statesMenu.hidden = true;
    });
    d.listen(this.statesMenu, "keydown", (ev: KeyboardEvent) => {
      if (ev.key === "Escape") {
        this.statesMenu.hidden = true;
        this.statesButton.focus();
      }
    });
    const refresh = button("↻ Refresh", "dt-refresh", () => ctx.bus.emit("refresh", null));
    refresh.title = "Fetch the workflows, runs and the open run again";
    this.el = h(
      "div",
      { class: "dt-header", testid: "dt-header" },
      h("span", { class: "dt-field" }, h("span", { class: "dt-label", text: "Workflow" }), this.picker.el),
      h("label", { class: "dt-field" }, h("span", { class: "dt-label", text: "Env" }), this.env),
      h(
        "span",
        { class: "dt-field dt-range" },
        h("span", { class: "dt-label", text: "From" }),
        this.start,
        h("span", { class: "dt-label", text: "to" }),
        this.end,
        presets,
        this.zone,
      ),
      h("span", { class: "dt-menu" }, this.statesButton, this.statesMenu),
      refresh,
      this.store,
      this.rangeError,
      this.message,
      this.wfError,
    );
    onTraits(ctx, ["env"], () => {
      this.syncEnv();
      void this.loadWorkflows();
    });
    onTraits(ctx, ["envs"], () => this.syncEnv());
    onTraits(ctx, ["start", "end"], () => this.syncRange());
    onTraits(ctx, ["states"], () => this.syncStates());
    onTraits(ctx, ["store_label", "message"], () => this.syncText());
    listen(ctx, "refresh", () => void this.loadWorkflows(true, true));
    // the kernel pushed the env's workflows again: the picker's states follow the store
    listen(ctx, "live", (keys) => {
      if (liveHas(keys, "list-workflows", { env: this.ctx.model.get("env") ?? "" })) void this.loadWorkflows(true);
    });
    this.syncEnv();
    this.syncRange();
    this.syncStates();
    this.syncText();
    void this.loadWorkflows();
  }

  private async loadWorkflows(quiet = false, fresh = false): Promise<void> {
    const signal = this.latest.next();
    if (!quiet) this.picker.setLoading();
    try {
      const res = await this.ctx.api.request("list-workflows", { env: this.ctx.model.get("env") }, { signal, fresh });
      this.wfError.replaceChildren();
      this.picker.setWorkflows(res.workflows);
    } catch (err) {
      const box = errorBox("Could not load workflows", err, () => void this.loadWorkflows(), "dt-workflows-error-box");
      if (box) {
        setChildren(this.wfError, box);
        this.picker.setWorkflows([]);
      }
    }
  }

  private syncEnv(): void {
    const env = this.ctx.model.get("env") ?? "";
    const envs = [...(this.ctx.model.get("envs") ?? [])];
    if (env && !envs.includes(env)) envs.push(env);
    setChildren(this.env, ...envs.map((e) => h("option", { text: e, attrs: { value: e } })));
    this.env.value = env;
  }

  /** Apply the typed dates; a date that does not parse stays in its box, marked, with a message saying why. */
  private applyRange(): void {
    const start = parseLocalInput(this.start.value);
    const end = parseLocalInput(this.end.value);
    this.start.setAttribute("aria-invalid", String(!start.ok));
    this.end.setAttribute("aria-invalid", String(!end.ok));
    if (!start.ok || !end.ok) {
      this.showRangeError(!start.ok ? `From: ${start.error}` : !end.ok ? `To: ${end.error}` : "");
      return;
    }
    if (start.iso && end.iso && Date.parse(end.iso) <= Date.parse(start.iso)) {
      this.end.setAttribute("aria-invalid", "true");
      this.showRangeError("“to” must be after “from”");
      return;
    }
    this.showRangeError("");
    const m = this.ctx.model;
    if (start.iso === (m.get("start") ?? "") && end.iso === (m.get("end") ?? "")) this.syncRange();
    else setTraits(this.ctx, { start: start.iso, end: end.iso });
  }

  private showRangeError(text: string): void {
    this.rangeError.textContent = text;
    this.rangeError.hidden = !text;
    if (!text) {
      this.start.setAttribute("aria-invalid", "false");
      this.end.setAttribute("aria-invalid", "false");
    }
  }

  private syncRange(): void {
    const start = this.ctx.model.get("start") ?? "";
    const end = this.ctx.model.get("end") ?? "";
    this.start.value = toLocalInput(start);
    this.end.value = toLocalInput(end);
    this.showRangeError("");
    const preset = matchPreset(start, end);
    for (const [p, b] of this.presetButtons) b.setAttribute("aria-pressed", String(p === preset));
    this.zone.textContent = zoneLabel();
  }

  private toggleStates(): void {
    this.statesMenu.hidden = !this.statesMenu.hidden;
    if (!this.statesMenu.hidden) this.statesMenu.querySelector("input")?.focus();
  }

  private syncStates(): void {
    const selected = new Set(this.ctx.model.get("states") ?? []);
    this.statesButton.textContent =
      selected.size === 0 ? "States: all ▾" : `States: ${[...selected].map(stateLabel).join(", ")} ▾`;
    const boxes = RUN_STATES.map((s) => {
      const box = h("input", { testid: `dt-state-option-${s}`, attrs: { type: "checkbox", value: s } });
      box.checked = selected.has(s);
      box.addEventListener("change", () => {
        const next = RUN_STATES.filter((x) => (x === s ? box.checked : selected.has(x)));
        setTraits(this.ctx, { states: [...next] });
      });
      return h("label", {}, box, stateDot(s), stateLabel(s));
    });
    const clear = button("Show all states", "dt-states-clear", () => setTraits(this.ctx, { states: [] }), "dt-btn-link dt-small");
    setChildren(this.statesMenu, ...boxes, h("div", { class: "dt-note" }, clear));
  }

  private syncText(): void {
    const label = this.ctx.model.get("store_label") ?? "";
    this.store.textContent = label ? `Store: ${label}` : "";
    this.store.title = label;
    this.message.textContent = this.ctx.model.get("message") ?? "";
  }
}

/** A text box for a date in one fixed form (native date inputs follow the locale: 12-hour in some). */
function dateInput(testid: string, label: string, empty: string): HTMLInputElement {
  return h("input", {
    class: "dt-input dt-date",
    testid,
    title: `${label}: ${DATE_INPUT_FORMAT} (24-hour), empty for ${empty}; Enter applies`,
    attrs: {
      type: "text",
      inputmode: "numeric",
      "aria-label": `${label} (${DATE_INPUT_FORMAT})`,
      placeholder: empty === "now" ? "now" : DATE_INPUT_FORMAT,
      autocomplete: "off",
      spellcheck: "false",
      maxlength: "19",
    },
  });
}
