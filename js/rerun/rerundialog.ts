// The rerun dialog: version (existing ones only), full rerun, from task, a plan preview drawn on the DAG, and
// a Confirm that makes exactly one run per opening (one request_key, disabled while submitting).
import { type Ctx, listen } from "../app";
import { Disposer, button, h, setChildren } from "../dom";
import { formatTime, stateLabel } from "../format";
import { Latest, errorText } from "../protocol";
import type { PlanAction, RerunOptions, RunSummary, TaskRun, VersionInfo } from "../types";
import { errorBox, loading, requestKey } from "../ui";

export class RerunDialog {
  private modal: HTMLElement | null = null;
  private d: Disposer | null = null;

  constructor(private readonly ctx: Ctx) {
    listen(ctx, "open-rerun", (run) => this.open(run));
    ctx.d.add(() => this.close());
  }

  get isOpen(): boolean {
    return this.modal !== null;
  }

  open(run: RunSummary): void {
    this.close();
    const d = (this.d = new Disposer());
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const key = requestKey();
    const plans = new Latest();
    d.add(() => plans.cancel());
    let submitting = false;
    let tasks: TaskRun[] = [];

    const version = h("select", { class: "dt-input", testid: "dt-rerun-version", attrs: { "aria-label": "Version", disabled: "" } });
    version.appendChild(h("option", { text: "Loading versions…", attrs: { value: "" } }));
    const full = h("input", { testid: "dt-rerun-full", attrs: { type: "checkbox" } });
    const fromTask = h("select", { class: "dt-input", testid: "dt-rerun-from-task", attrs: { "aria-label": "From task" } });
    const plan = h("div", { class: "dt-plan", testid: "dt-rerun-plan", attrs: { "aria-live": "polite" } });
    const error = h("div", { testid: "dt-rerun-error" });
    const cancel = button("Cancel", "dt-rerun-cancel", () => {
      if (!submitting) this.close();
    });
    const confirm = button("Confirm", "dt-rerun-confirm", () => void submit(), "dt-btn dt-btn-primary");

    const options = (): RerunOptions => {
      const out: RerunOptions = { full: full.checked };
      if (version.value) out.version = Number(version.value);
      if (!full.checked && fromTask.value !== "") out.from_task = Number(fromTask.value);
      return out;
    };

    const preview = async (): Promise<void> => {
      const signal = plans.next();
      setChildren(plan, loading("Computing what will run…", "dt-rerun-plan-loading"));
      try {
        const res = await this.ctx.api.request("plan-rerun", { run_id: run.run_id, ...options() }, { signal });
        const n: Record<PlanAction, number> = { execute: 0, reuse: 0, skip: 0 };
        const byId = new Map<number, PlanAction>();
        const byName = new Map<string, PlanAction>();
        for (const t of res.tasks) {
          n[t.action] = (n[t.action] ?? 0) + 1;
          byId.set(t.task_id, t.action);
          byName.set(t.name, t.action);
        }
        const chosen = options().version;
        setChildren(
          plan,
          h("span", { testid: "dt-plan-execute" }, "Run ", h("b", { text: String(n.execute) })),
          h("span", { testid: "dt-plan-reuse" }, "Reuse ", h("b", { text: String(n.reuse) })),
          h("span", { testid: "dt-plan-skip" }, "Skip ", h("b", { text: String(n.skip) })),
          this.ctx.run?.run.run_id === run.run_id ? h("span", { class: "dt-small dt-muted", text: "(shown on the graph)" }) : null,
        );
        this.ctx.bus.emit("plan", { runId: run.run_id, byId, byName, sameVersion: chosen === undefined || chosen === run.job_version });
      } catch (err) {
        const box = errorBox("Could not preview the rerun", err, () => void preview(), "dt-rerun-plan-error");
        if (box) setChildren(plan, box);
        this.ctx.bus.emit("plan", null);
      }
    };

    const submit = async (): Promise<void> => {
      if (submitting) return;
      submitting = true;
      confirm.disabled = cancel.disabled = true;
      confirm.textContent = "Starting…";
      error.replaceChildren();
      try {
        const res = await this.ctx.api.request("rerun", { run_id: run.run_id, request_key: key, ...options() });
        this.close();
        this.ctx.bus.emit("rerun-created", res.run);
      } catch (err) {
        setChildren(error, h("div", { class: "dt-error", attrs: { role: "alert" }, text: `Could not start the rerun: ${errorText(err)}` }));
        submitting = false;
        confirm.disabled = cancel.disabled = false;
        confirm.textContent = "Confirm";
      }
    };

    const fillTasks = (): void => {
      setChildren(
        fromTask,
        h("option", { text: "— none: rerun from the failure —", attrs: { value: "" } }),
        ...[...tasks]
          .sort((a, b) => a.id - b.id)
          .map((t) => h("option", { text: `#${t.id} ${t.name} (${stateLabel(t.state)})`, attrs: { value: String(t.id) } })),
      );
    };

    const loadVersions = async (): Promise<void> => {
      try {
        const res = await this.ctx.api.request("list-versions", { workflow: run.workflow_key });
        const versions: VersionInfo[] = [...res.versions].sort((a, b) => b.version - a.version);
        if (!versions.length) throw new Error(`no versions are recorded for ${run.workflow}`);
        const latest = res.latest || versions[0].version;
        setChildren(
          version,
          ...versions.map((v) => {
            const tags = [v.version === latest ? "latest" : "", v.version === run.job_version ? "this run" : ""].filter(Boolean);
            const label = `v${v.version}${tags.length ? ` (${tags.join(", ")})` : ""} · ${v.n_tasks} tasks · ${formatTime(v.created_at)}`;
            return h("option", { text: label, attrs: { value: String(v.version) } });
          }),
        );
        // the run's own code by default (as `dt rerun` does); another version is a deliberate choice
        const own = versions.some((v) => v.version === run.job_version);
        version.value = String(own ? run.job_version : latest);
        version.disabled = false;
      } catch (err) {
        setChildren(version, h("option", { text: `v${run.job_version} (this run)`, attrs: { value: "" } }));
        const box = errorBox("Could not list versions", err, undefined, "dt-rerun-versions-error");
        if (box) error.appendChild(box);
      }
      void preview();
    };

    const loadTasks = async (): Promise<void> => {
      if (this.ctx.run?.run.run_id === run.run_id) tasks = this.ctx.run.tasks;
      else {
        try {
          tasks = (await this.ctx.api.request("get-run", { run_id: run.run_id })).tasks;
        } catch (err) {
          const box = errorBox("Could not list the run's tasks", err, undefined, "dt-rerun-tasks-error");
          if (box) error.appendChild(box);
        }
      }
      fillTasks();
    };

    d.listen(version, "change", () => void preview());
    d.listen(fromTask, "change", () => void preview());
    d.listen(full, "change", () => {
      fromTask.disabled = full.checked;
      void preview();
    });
    fillTasks();

    const dialog = h(
      "div",
      { class: "dt-dialog", testid: "dt-rerun-dialog", attrs: { role: "dialog", "aria-modal": "true", "aria-label": `Rerun run #${run.run_id}` } },
      h("h3", { testid: "dt-rerun-title", text: `Rerun run #${run.run_id}` }),
      h("div", { class: "dt-small dt-muted", text: `${run.workflow} · v${run.job_version} · ${stateLabel(run.state)} · ${run.env}` }),
      h("label", { class: "dt-row" }, h("span", { class: "dt-label", text: "Version" }), version),
      h("label", { class: "dt-row" }, h("span", { class: "dt-label", text: "Full rerun" }), full, h("span", { class: "dt-small dt-muted", text: "re-execute every task" })),
      h("label", { class: "dt-row" }, h("span", { class: "dt-label", text: "From task" }), fromTask),
      plan,
      error,
      h("div", { class: "dt-actions" }, cancel, confirm),
    );
    const modal = h("div", { class: "dt-modal", testid: "dt-rerun-modal" }, dialog);
    d.listen(modal, "mousedown", (ev: MouseEvent) => {
      if (ev.target === modal && !submitting) this.close();
    });
    d.listen(modal, "keydown", (ev: KeyboardEvent) => {
      if (ev.key === "Escape" && !submitting) {
        ev.stopPropagation();
        this.close();
      }
    });
    d.add(() => {
      modal.remove();
      this.ctx.bus.emit("plan", null);
      if (opener?.isConnected) opener.focus();
    });
    this.modal = modal;
    this.ctx.root.appendChild(modal);
    dialog.scrollIntoView?.({ block: "nearest" });
    version.focus();
    void loadVersions();
    void loadTasks();
  }

  close(): void {
    const d = this.d;
    this.d = null;
    this.modal = null;
    d?.dispose();
  }
}
