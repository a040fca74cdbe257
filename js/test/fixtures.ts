// Store contents for the widget tests, and a kernel stand-in that answers every request kind from them.
import type { CompareRow, Definition, LogChunk, PlanTask, Preview, RunSummary, TaskRun, WorkflowInfo, WorkflowOverview } from "../types";
import { KernelError } from "./fakemodel";

export function workflow(key: string, name = key, extra: Partial<WorkflowInfo> = {}): WorkflowInfo {
  return {
    key,
    name,
    env: "dev",
    n_tasks: 3,
    schedule: null,
    latest_version: 2,
    n_runs: 40,
    last_run_id: 40,
    last_state: "failed",
    last_start_time: "2026-11-20T10:00:00Z",
    recent_states: ["failed", "completed", "completed"],
    ...extra,
  };
}

export function runSummary(run_id: number, extra: Partial<RunSummary> = {}): RunSummary {
  return {
    run_id,
    workflow: "ETL pipeline",
    workflow_key: "etl-pipeline",
    env: "dev",
    job_version: 2,
    state: "completed",
    trigger: "local",
    original_run_id: null,
    rerun_of: null,
    partial_rerun: false,
    submit_time: "2026-11-20T10:00:00Z",
    start_time: "2026-11-20T10:00:01Z",
    end_time: "2026-11-20T10:01:06Z",
    scheduled_time: null,
    params: {},
    n_tasks: 3,
    task_counts: { completed: 3 },
    error_message: null,
    n_reruns: 0,
    ...extra,
  };
}

export function task(run_id: number, id: number, name: string, deps: number[], extra: Partial<TaskRun> = {}): TaskRun {
  return {
    run_id,
    id,
    name,
    function: `pipeline:${name}`,
    dependencies: deps,
    state: "completed",
    start_time: "2026-11-20T10:00:01Z",
    end_time: "2026-11-20T10:00:05Z",
    attempt: 1,
    exit_code: 0,
    error: null,
    resources: { memory: "1g", cpu: 1 },
    result: { codec: "parquet", bytes: 2048, python_type: "pandas.core.frame.DataFrame", shape: [1000000, 2], length: null, preview: "", sha256: "" },
    reused_from_run: null,
    stdout_bytes: 100,
    stderr_bytes: 0,
    host: "localhost",
    ...extra,
  };
}

export interface Store {
  workflows: WorkflowInfo[];
  runs: RunSummary[];
  families: Map<number, RunSummary[]>;
  tasks: Map<number, TaskRun[]>;
  logs: Map<string, string>;
  previews: Map<string, Preview>;
  plan: PlanTask[];
  reruns: number;
  overview: WorkflowOverview[];
  compare: CompareRow[];
  definition: Definition;
  diff: string;
  debugCode: string;
  /** Requests seen by kind, with their payloads. */
  asked: { kind: string; payload: Record<string, unknown> }[];
}

export function overviewRow(key: string, name = key, extra: Partial<WorkflowOverview> = {}): WorkflowOverview {
  return {
    name,
    key,
    n_tasks: 3,
    latest_version: 2,
    state: "completed",
    n_runs: 40,
    schedule: "0 6 * * 1-5",
    schedule_text: "At 06:00, Monday through Friday (UTC)",
    next_run: "2026-11-30T06:00:00Z",
    recent: [
      { run_id: 40, state: "completed", start_time: "2026-11-27T06:00:00Z", duration: 12 },
      { run_id: 39, state: "completed", start_time: "2026-11-26T06:00:00Z", duration: 11 },
      { run_id: 38, state: "failed", start_time: "2026-11-25T06:00:00Z", duration: 4 },
    ],
    window_runs: 20,
    completed: 18,
    failed: 2,
    success_rate: 0.9,
    median_duration: 11.5,
    heatmap: [
      [0, 6, 4, 0, 0],
      [1, 6, 3, 1, 0],
      [4, 18, 0, 0, 2],
    ],
    ...extra,
  };
}

export function definitionOf(): Definition {
  return {
    workflow: "ETL pipeline",
    key: "etl-pipeline",
    version: 2,
    created_at: "2026-11-10T00:00:00Z",
    schedule: "0 6 * * 1-5",
    schedule_text: "At 06:00, Monday through Friday (UTC)",
    timezone: null,
    resources: { memory: "1g" },
    env_vars: { MODE: "fast" },
    tasks: [
      { id: 0, name: "extract", function: "flows:extract", dependencies: [], arguments: {}, resources: {}, env_vars: {}, code: "def extract():\n    return 1\n" },
      { id: 1, name: "transform", function: "flows:transform", dependencies: [0], arguments: { rows: { task: 0 }, factor: 13 }, resources: {}, env_vars: {}, code: "def transform(rows, factor):\n    raise ValueError('bad row 17')\n" },
      { id: 2, name: "load", function: "flows:load", dependencies: [1], arguments: {}, resources: {}, env_vars: {}, code: null, code_reason: "not recorded" },
    ],
    workflow_code: "@workflow\ndef etl():\n    load(transform(extract(), 13))\n",
    code_note: null,
  };
}

export function defaultStore(): Store {
  const runs: RunSummary[] = [];
  for (let i = 40; i >= 1; i--) {
    runs.push(
      runSummary(i, i === 38
        ? { state: "failed", error_message: "ValueError: bad row 17\nTraceback (most recent call last): ...", n_reruns: 2, task_counts: { completed: 1, failed: 1, did_not_run: 1 } }
        : {}),
    );
  }
  const tasks12 = [
    task(38, 0, "extract", []),
    task(38, 1, "transform", [0], { state: "failed", error: { type: "ValueError", message: "bad row 17", traceback: "Traceback (most recent call last):\n  File \"x.py\", line 3\nValueError: bad row 17" }, result: null, stderr_bytes: 40 }),
    task(38, 2, "load", [1], { state: "did_not_run", start_time: null, end_time: null, result: null }),
  ];
  const families = new Map<number, RunSummary[]>([
    [38, [runs[2], runSummary(41, { original_run_id: 38, rerun_of: 38, trigger: "rerun", state: "failed" }), runSummary(42, { original_run_id: 38, rerun_of: 41, trigger: "rerun" })]],
  ]);
  return {
    workflows: [workflow("etl-pipeline", "ETL pipeline"), workflow("reports", "Reports", { last_state: "completed" })],
    runs,
    families,
    tasks: new Map([[38, tasks12]]),
    logs: new Map([
      ["38/0/stdout", "starting extract\n⟦dt⟧ engine: task started\n\x1b[32mok\x1b[0m read 1000 rows\n"],
      ["38/1/stderr", "Traceback (most recent call last):\nValueError: bad row 17\n"],
    ]),
    previews: new Map([
      ["38/0", { kind: "table", columns: [{ name: "id", dtype: "int64" }, { name: "name", dtype: "object" }], rows: [[1, "a"], [2, "b"]], total_rows: 1000000, total_columns: 2 }],
    ]),
    plan: [
      { task_id: 0, name: "extract", action: "reuse", reason: "completed" },
      { task_id: 1, name: "transform", action: "execute", reason: "failed" },
      { task_id: 2, name: "load", action: "execute", reason: "downstream" },
    ],
    reruns: 0,
    overview: [overviewRow("etl-pipeline", "ETL pipeline"), overviewRow("reports", "Reports", { state: "failed", success_rate: 0.5, schedule: null, schedule_text: null, next_run: null })],
    compare: [
      { task: "extract", id_a: 0, id_b: 0, state_a: "completed", state_b: "completed", duration_a_s: 2, duration_b_s: 2, duration_change_s: 0, executed_a: true, executed_b: false, result_type_a: "int", result_type_b: "int", result_equal: true, result_change: "equal" },
      { task: "transform", id_a: 1, id_b: 1, state_a: "completed", state_b: "failed", duration_a_s: 3, duration_b_s: 5.5, duration_change_s: 2.5, executed_a: true, executed_b: true, result_type_a: "float", result_type_b: null, result_equal: false, result_change: "only in a" },
    ],
    definition: definitionOf(),
    diff: "--- v1\n+++ v2\n@@ -1 +1 @@\n-old\n+new\n",
    debugCode: "# Debug transform of run 38\nresult = transform(rows, 13)\n",
    asked: [],
  };
}

function tasksOf(store: Store, runId: number): TaskRun[] {
  const own = store.tasks.get(runId);
  if (own) return own;
  return [task(runId, 0, "extract", []), task(runId, 1, "transform", [0]), task(runId, 2, "load", [1])];
}

/** Answers the widget's requests from `store`, like the kernel would. */
export function kernel(store: Store) {
  return (kind: string, p: Record<string, unknown>): unknown => {
    const runId = Number(p.run_id);
    store.asked.push({ kind, payload: p });
    switch (kind) {
      case "overview": {
        const f = String(p.filter ?? "").toLowerCase();
        const rows = store.overview.filter((w) => w.name.toLowerCase().includes(f));
        return { workflows: rows, total: rows.length, next_cursor: null, since: "2026-10-29T00:00:00Z" };
      }
      case "compare": {
        const find = (id: number) => store.runs.find((r) => r.run_id === id) ?? [...store.families.values()].flat().find((r) => r.run_id === id);
        const a = find(Number(p.a));
        const b = find(Number(p.b));
        if (!a || !b) throw new KernelError("RunNotFoundError", "no such run");
        return { a, b, tasks: store.compare };
      }
      case "definition":
        return { definition: store.definition, diff: store.diff, previous: store.definition.version > 1 ? store.definition.version - 1 : null };
      case "debug-code":
        return { code: store.debugCode };
      case "chart":
        return { chart: p.chart, figure: { data: [{ type: "bar", x: [1, 2], y: [3, 4], name: "tasks" }], layout: { title: { text: `chart ${String(p.chart)}` } } } };
      case "list-workflows":
        return { workflows: store.workflows };
      case "list-runs": {
        const start = p.cursor ? Number(p.cursor) : 0;
        const limit = Number(p.limit);
        const states = p.states as string[];
        const rows = store.runs.filter((r) => !r.original_run_id && (!states.length || states.includes(r.state)));
        const page = rows.slice(start, start + limit);
        return { runs: page, total: rows.length, next_cursor: start + limit < rows.length ? String(start + limit) : null };
      }
      case "rerun-family":
        return { runs: store.families.get(runId) ?? [store.runs.find((r) => r.run_id === runId)] };
      case "get-run": {
        const run = store.runs.find((r) => r.run_id === runId) ?? [...store.families.values()].flat().find((r) => r.run_id === runId);
        if (!run) throw new KernelError("RunNotFoundError", `run ${runId} does not exist`);
        return { run, tasks: tasksOf(store, runId) };
      }
      case "read-log": {
        const text = store.logs.get(`${runId}/${String(p.task_id)}/${String(p.stream)}`) ?? "";
        const size = new TextEncoder().encode(text).length;
        const offset = typeof p.offset === "number" ? p.offset : 0;
        const chunk: LogChunk = { run_id: runId, task_id: Number(p.task_id), stream: String(p.stream), offset, next_offset: size, size, text: new TextDecoder().decode(new TextEncoder().encode(text).slice(offset)), complete: true };
        return chunk;
      }
      case "search-log": {
        const text = store.logs.get(`${runId}/${String(p.task_id)}/${String(p.stream)}`) ?? "";
        let offset = 0;
        const matches = text.split("\n").flatMap((line, i) => {
          const at = offset;
          offset += new TextEncoder().encode(line).length + 1;
          return line.includes(String(p.pattern)) ? [{ line: i, offset: at, text: line }] : [];
        });
        return { matches, truncated: false };
      }
      case "get-result": {
        const preview = store.previews.get(`${runId}/${String(p.task_id)}`);
        const t = tasksOf(store, runId).find((x) => x.id === Number(p.task_id));
        if (!preview || !t?.result) return { meta: null, preview: { kind: "none", text: "No result stored for this task." } };
        return { meta: t.result, preview };
      }
      case "load-code":
        return { code: `df = dt.load_result(${runId}, ${String(p.task_id)})`, variable: "df" };
      case "bind-result":
        return { variable: p.variable, python_type: "pandas.core.frame.DataFrame" };
      case "list-versions":
        return { versions: [{ version: 1, created_at: "2026-11-01T00:00:00Z", n_tasks: 3 }, { version: 2, created_at: "2026-11-10T00:00:00Z", n_tasks: 3 }], latest: 2 };
      case "plan-rerun":
        return { tasks: store.plan };
      case "rerun": {
        store.reruns++;
        const run = runSummary(43, { original_run_id: 38, rerun_of: runId, trigger: "rerun", state: "running", end_time: null });
        store.families.get(38)?.push(run);
        return { run };
      }
      default:
        throw new KernelError("UnknownKind", `unknown kind ${kind}`);
    }
  };
}
