// Store contents for the widget tests, and a kernel stand-in that answers every request kind from them.
import type { LogChunk, PlanTask, Preview, RunSummary, TaskRun, WorkflowInfo } from "../types";
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
    switch (kind) {
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
