// The Definition tab: the selected run's version of its workflow as stored (schedule, resources, environment
// variables, the workflow body and each task's code and arguments) and the diff against the previous version.
import { type Ctx, onTraits, selectedRun } from "../app";
import { h, setChildren } from "../dom";
import { DASH, formatTime } from "../format";
import { Latest } from "../protocol";
import type { Definition, DefinitionTask } from "../types";
import { errorBox, loading, note } from "../ui";
import { argumentText, valueText } from "../arguments";

export { argumentText, upstreamOf, valueText } from "../arguments";

function kv(entries: [string, unknown][], testid: string): HTMLElement {
  if (!entries.length) return h("span", { class: "dt-muted", text: "none" });
  const dl = h("dl", { class: "dt-kv", testid });
  for (const [k, v] of entries) dl.append(h("dt", { class: "dt-mono", text: k }), h("dd", { class: "dt-mono", text: valueText(v) }));
  return dl;
}

export function diffView(diff: string): HTMLElement {
  const pre = h("pre", { class: "dt-pre dt-diff", testid: "dt-definition-diff" });
  for (const line of diff.split("\n")) {
    const cls = line.startsWith("+++") || line.startsWith("---") ? "dt-diff-file" : line.startsWith("@@") ? "dt-diff-hunk" : line.startsWith("+") ? "dt-diff-add" : line.startsWith("-") ? "dt-diff-del" : "";
    pre.appendChild(h("span", { class: cls, text: `${line}\n` }));
  }
  return pre;
}

export class DefinitionView {
  readonly el: HTMLElement;
  private readonly body = h("div", { testid: "dt-definition-body" });
  private readonly latest = new Latest();
  private key = "";
  private visible = false;

  constructor(private readonly ctx: Ctx) {
    this.el = h("div", { class: "dt-definition", testid: "dt-definition" }, this.body);
    ctx.d.add(() => this.latest.cancel());
    onTraits(ctx, ["selected_run", "workflow"], () => {
      if (this.visible) void this.load();
    });
  }

  show(): void {
    this.visible = true;
    void this.load();
  }

  hide(): void {
    this.visible = false;
  }

  private async load(): Promise<void> {
    const run = this.ctx.run && this.ctx.run.run.run_id === selectedRun(this.ctx) ? this.ctx.run.run : null;
    const workflow = run?.workflow_key ?? this.ctx.model.get("workflow") ?? "";
    const version = run?.job_version || undefined;
    if (!workflow) {
      this.key = "";
      setChildren(this.body, note("Choose a workflow or a run to see its definition.", "dt-definition-empty"));
      return;
    }
    const key = `${workflow}@${version ?? "latest"}`;
    if (key === this.key) return;
    this.key = key;
    const signal = this.latest.next();
    setChildren(this.body, loading("Loading the definition…", "dt-definition-loading"));
    try {
      const res = await this.ctx.api.request("definition", { workflow, ...(version ? { version } : {}) }, { signal, timeoutMs: 60_000 });
      this.render(res.definition, res.diff, res.previous, !run);
    } catch (err) {
      this.key = "";
      const box = errorBox("Could not load the definition", err, () => void this.load(), "dt-definition-error");
      if (box) setChildren(this.body, box);
    }
  }

  private render(d: Definition, diff: string, previous: number | null, latest: boolean): void {
    const names = new Map(d.tasks.map((t) => [t.id, t.name]));
    const summary = h(
      "dl",
      { class: "dt-kv", testid: "dt-definition-summary" },
      h("dt", { text: "Version" }),
      h("dd", { text: `v${d.version}${latest ? " (latest)" : " (of the selected run)"} · ${formatTime(d.created_at)}` }),
      h("dt", { text: "Schedule" }),
      h("dd", { text: d.schedule ? `${d.schedule_text ?? ""} (${d.schedule})` : "not scheduled" }),
      h("dt", { text: "Tasks" }),
      h("dd", { text: String(d.tasks.length) }),
    );
    const section = (title: string, ...content: (Node | null)[]): HTMLElement =>
      h("div", { class: "dt-def-section" }, h("div", { class: "dt-ov-heading", text: title }), ...content);
    const tasks = d.tasks.map((t) => this.task(t, names));
    setChildren(
      this.body,
      summary,
      section("Resources", kv(Object.entries(d.resources ?? {}), "dt-definition-resources")),
      section("Environment variables", kv(Object.entries(d.env_vars ?? {}), "dt-definition-env")),
      d.workflow_code ? section("Workflow", h("pre", { class: "dt-pre dt-code", testid: "dt-definition-workflow", text: d.workflow_code })) : null,
      section("Tasks", ...tasks),
      section(
        previous ? `Changes since v${previous}` : "Changes",
        previous ? (diff ? diffView(diff) : note("No change to the definition.", "dt-definition-nodiff")) : note("This is the first version.", "dt-definition-nodiff"),
      ),
      d.code_note ? note(d.code_note, "dt-definition-note", "dt-muted dt-small") : null,
    );
  }

  private task(t: DefinitionTask, names: Map<number, string>): HTMLElement {
    const args = Object.entries(t.arguments ?? {}).map(([k, v]) => [k, argumentText(v, names)] as [string, unknown]);
    const details = h(
      "details",
      { class: "dt-def-task", testid: "dt-definition-task", attrs: { "data-task": t.name } },
      h("summary", {}, h("b", { text: t.name }), h("span", { class: "dt-muted dt-mono", text: `  ${t.function}` })),
      h(
        "dl",
        { class: "dt-kv" },
        h("dt", { text: "Depends on" }),
        h("dd", { text: t.dependencies.map((id) => names.get(id) ?? `#${id}`).join(", ") || DASH }),
        h("dt", { text: "Arguments" }),
        h("dd", {}, kv(args, "dt-definition-args")),
        h("dt", { text: "Resources" }),
        h("dd", {}, kv(Object.entries(t.resources ?? {}), "dt-definition-task-resources")),
        h("dt", { text: "Env vars" }),
        h("dd", {}, kv(Object.entries(t.env_vars ?? {}), "dt-definition-task-env")),
      ),
      t.code
        ? h("pre", { class: "dt-pre dt-code", testid: "dt-definition-code", text: t.code })
        : note(t.code_reason ? `Code not available: ${t.code_reason}` : "Code not recorded for this version.", "dt-definition-nocode"),
    );
    return details;
  }
}
