// Wire types of the explorer: the traits and the request/response payloads of docs/protocol.md.
// Records mirror the to_dict() form of datatailr_jupyter/models.py (times are ISO-8601 UTC strings).

/** Traits shared with the kernel; names are identical on both sides. */
export interface Model {
  store_label: string;
  envs: string[];
  env: string;
  workflow: string;
  start: string;
  end: string;
  states: string[];
  selected_run: number;
  selected_task: number;
  page_size: number;
  message: string;
  /** Answers to the first requests, sent with the state: one binary buffer of JSON (widget.ts readInitialAnswers). */
  initial_answers?: DataView | ArrayBuffer | unknown[];
}

export type RunState =
  | "created"
  | "scheduled"
  | "pending"
  | "running"
  | "completed"
  | "failed"
  | "failed_after"
  | "out_of_memory"
  | "stopped"
  | "expired"
  | "did_not_run"
  | "unknown";

export const RUN_STATES: readonly RunState[] = [
  "created",
  "scheduled",
  "pending",
  "running",
  "completed",
  "failed",
  "failed_after",
  "out_of_memory",
  "stopped",
  "expired",
  "did_not_run",
  "unknown",
];

export interface WorkflowInfo {
  key: string;
  name: string;
  env: string;
  n_tasks: number;
  schedule: string | null;
  latest_version: number;
  n_runs: number;
  last_run_id: number | null;
  last_state: string | null;
  last_start_time: string | null;
  recent_states: string[];
}

export interface RunSummary {
  run_id: number;
  workflow: string;
  workflow_key: string;
  env: string;
  job_version: number;
  state: string;
  trigger: string;
  original_run_id: number | null;
  rerun_of: number | null;
  partial_rerun: boolean;
  submit_time: string | null;
  start_time: string | null;
  end_time: string | null;
  scheduled_time: string | null;
  params: Record<string, unknown>;
  n_tasks: number;
  task_counts: Record<string, number>;
  error_message: string | null;
  n_reruns: number;
}

export interface TaskError {
  type: string;
  message: string;
  traceback: string;
}

export interface ResultMeta {
  codec: string;
  bytes: number;
  python_type: string;
  shape: number[] | null;
  length: number | null;
  preview: string;
  sha256: string;
}

export interface TaskRun {
  run_id: number;
  id: number;
  name: string;
  function: string;
  dependencies: number[];
  state: string;
  start_time: string | null;
  end_time: string | null;
  attempt: number;
  exit_code: number | null;
  error: TaskError | null;
  resources: Record<string, unknown>;
  result: ResultMeta | null;
  reused_from_run: number | null;
  stdout_bytes: number;
  stderr_bytes: number;
  host: string | null;
  /** The arguments its version records: literals as described, {task: id} for an upstream output. */
  arguments?: Record<string, unknown>;
}

export interface RunDetail {
  run: RunSummary;
  tasks: TaskRun[];
}

export type LogStream = "stdout" | "stderr";

export interface LogChunk {
  run_id: number;
  task_id: number;
  stream: string;
  offset: number;
  next_offset: number;
  size: number;
  text: string;
  complete: boolean;
}

export interface LogMatch {
  line: number;
  offset: number;
  text: string;
}

export interface PreviewColumn {
  name: string;
  dtype: string;
}

export type Preview =
  | { kind: "table"; columns: PreviewColumn[]; rows: unknown[][]; total_rows: number; total_columns?: number }
  | { kind: "text"; text: string }
  | { kind: "none"; text: string };

export interface VersionInfo {
  version: number;
  created_at: string | null;
  n_tasks: number;
}

export type PlanAction = "reuse" | "execute" | "skip";

export interface PlanTask {
  task_id: number;
  name: string;
  action: PlanAction;
  reason: string;
  reuse_from_run?: number | null;
}

export interface RerunOptions {
  version?: number;
  full?: boolean;
  from_task?: number;
}

export interface RecentRun {
  run_id: number;
  state: RunState;
  start_time: string | null;
  duration: number | null;
}

/** [weekday (0 = Monday), UTC hour, completed, failed, other] */
export type HeatCell = [number, number, number, number, number];

export interface WorkflowOverview {
  name: string;
  key: string;
  n_tasks: number;
  latest_version: number;
  state: RunState | null;
  n_runs: number;
  schedule: string | null;
  schedule_text: string | null;
  next_run: string | null;
  recent: RecentRun[];
  window_runs: number;
  completed: number;
  failed: number;
  success_rate: number | null;
  median_duration: number | null;
  heatmap: HeatCell[];
}

export interface OverviewPage {
  workflows: WorkflowOverview[];
  total: number;
  next_cursor: string | null;
  since: string | null;
}

export interface CompareRow {
  task: string;
  id_a: number | null;
  id_b: number | null;
  state_a: RunState | null;
  state_b: RunState | null;
  duration_a_s: number | null;
  duration_b_s: number | null;
  duration_change_s: number | null;
  executed_a: boolean | null;
  executed_b: boolean | null;
  result_type_a: string | null;
  result_type_b: string | null;
  result_equal: boolean | null;
  result_change: string | null;
}

export interface DefinitionTask {
  id: number;
  name: string;
  function: string;
  dependencies: number[];
  arguments: Record<string, unknown>;
  resources: Record<string, unknown>;
  env_vars: Record<string, unknown>;
  code: string | null;
  code_origin?: string | null;
  code_reason?: string | null;
}

export interface Definition {
  workflow: string;
  key: string;
  version: number;
  created_at: string | null;
  schedule: string | null;
  schedule_text: string | null;
  timezone: string | null;
  resources: Record<string, unknown>;
  env_vars: Record<string, unknown>;
  tasks: DefinitionTask[];
  workflow_code: string | null;
  code_note: string | null;
}

export type ChartKind = "timeline" | "durations" | "heatmap" | "task_durations";

/** Every request kind with its payload and its response payload. */
export interface Requests {
  "list-workflows": { payload: { env: string }; response: { workflows: WorkflowInfo[] } };
  "list-runs": {
    payload: {
      workflow: string;
      env: string;
      start: string;
      end: string;
      states: string[];
      cursor: string | null;
      limit: number;
    };
    response: { runs: RunSummary[]; total: number; next_cursor: string | null };
  };
  "rerun-family": { payload: { run_id: number }; response: { runs: RunSummary[] } };
  /** Sent as columns (js/columns.ts RunDetailWire); the dispatcher hands the parts the decoded RunDetail. */
  "get-run": { payload: { run_id: number }; response: RunDetail };
  "read-log": {
    payload: {
      run_id: number;
      task_id: number;
      stream: LogStream;
      offset?: number;
      limit?: number;
      tail?: number;
    };
    response: LogChunk;
  };
  "search-log": {
    payload: { run_id: number; task_id: number; stream: LogStream; pattern: string; regex: boolean };
    response: { matches: LogMatch[]; truncated: boolean };
  };
  "get-result": { payload: { run_id: number; task_id: number }; response: { meta: ResultMeta | null; preview: Preview } };
  "load-code": { payload: { run_id: number; task_id: number }; response: { code: string; variable: string } };
  "bind-result": {
    payload: { run_id: number; task_id: number; variable: string };
    response: { variable: string; python_type: string };
  };
  "list-versions": { payload: { workflow: string }; response: { versions: VersionInfo[]; latest: number } };
  "plan-rerun": { payload: { run_id: number } & RerunOptions; response: { tasks: PlanTask[] } };
  rerun: { payload: { run_id: number; request_key: string } & RerunOptions; response: { run: RunSummary } };
  overview: {
    payload: { env: string; filter: string; sort: string; limit: number; cursor: string | null; days?: number };
    response: OverviewPage;
  };
  compare: { payload: { a: number; b: number; results?: boolean }; response: { a: RunSummary; b: RunSummary; tasks: CompareRow[] } };
  definition: {
    payload: { workflow: string; version?: number };
    response: { definition: Definition; diff: string; previous: number | null };
  };
  "debug-code": { payload: { run_id: number; task_id: number }; response: { code: string } };
  chart: {
    payload: { chart: ChartKind; run_id?: number; workflow?: string; env?: string; task?: string; since?: string };
    response: { chart: ChartKind; figure: { data: unknown[]; layout: Record<string, unknown> } };
  };
}

export type Kind = keyof Requests;
export type PayloadOf<K extends Kind> = Requests[K]["payload"];
export type ResponseOf<K extends Kind> = Requests[K]["response"];

/** Fields each response must carry before the view uses it (a light guard against a kernel of another version). */
export const REQUIRED_FIELDS: { [K in Kind]: readonly string[] } = {
  "list-workflows": ["workflows"],
  "list-runs": ["runs", "total"],
  "rerun-family": ["runs"],
  "get-run": ["run", "n_tasks", "columns"], // the columnar wire form (js/columns.ts), decoded before use
  "read-log": ["text", "offset", "next_offset", "size"],
  "search-log": ["matches"],
  "get-result": ["preview"],
  "load-code": ["code", "variable"],
  "bind-result": ["variable"],
  "list-versions": ["versions"],
  "plan-rerun": ["tasks"],
  rerun: ["run"],
  overview: ["workflows", "total"],
  compare: ["a", "b", "tasks"],
  definition: ["definition", "diff"],
  "debug-code": ["code"],
  chart: ["figure"],
};
