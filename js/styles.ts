// The explorer's stylesheet: JupyterLab theme variables (with VS Code and plain fallbacks), prefixed `dt-`.
// Injected once per widget root as a constant <style> text.

import { OVERVIEW_CSS } from "./overview/styles";
import { LIVE_CSS, VIEWS_CSS } from "./viewstyles";

const THEME = `
.dt-root {
  --dt-bg: var(--jp-layout-color1, var(--vscode-editor-background, #ffffff));
  --dt-bg2: var(--jp-layout-color2, var(--vscode-sideBar-background, #f3f4f6));
  --dt-bg3: var(--jp-layout-color3, var(--vscode-editorWidget-background, #e6e8eb));
  --dt-fg: var(--jp-ui-font-color1, var(--vscode-foreground, #1f2328));
  --dt-fg2: var(--jp-ui-font-color2, var(--vscode-descriptionForeground, #59636e));
  --dt-fg3: var(--jp-ui-font-color3, #8c959f);
  --dt-border: var(--jp-border-color2, var(--vscode-panel-border, #d8dee4));
  --dt-border-strong: var(--jp-border-color1, var(--vscode-input-border, #afb8c1));
  --dt-accent: var(--jp-brand-color1, var(--vscode-focusBorder, #1976d2));
  --dt-accent-soft: color-mix(in srgb, var(--dt-accent) 14%, transparent);
  --dt-error: var(--jp-error-color1, var(--vscode-errorForeground, #d32f2f));
  --dt-warn: var(--jp-warn-color1, #c77c02);
  --dt-edge: var(--jp-border-color1, #9aa4ae);
  --dt-input-bg: var(--jp-input-background, var(--dt-bg));
  --dt-font: var(--jp-ui-font-family, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
  --dt-mono: var(--jp-code-font-family, ui-monospace, SFMono-Regular, Menlo, Consolas, monospace);
  --dt-size: var(--jp-ui-font-size1, 13px);
  --dt-small: var(--jp-ui-font-size0, 11px);
  --dt-code-size: var(--jp-code-font-size, 12px);
  position: relative; box-sizing: border-box; color: var(--dt-fg); background: var(--dt-bg);
  font-family: var(--dt-font); font-size: var(--dt-size); line-height: 1.4;
  border: 1px solid var(--dt-border); border-radius: 6px; padding: 8px; min-width: 320px;
}
.dt-root *, .dt-root *::before, .dt-root *::after { box-sizing: border-box; }
.dt-root button, .dt-root input, .dt-root select { font: inherit; color: inherit; }
.dt-btn { background: var(--dt-bg2); border: 1px solid var(--dt-border-strong); border-radius: 4px;
  padding: 2px 10px; min-height: 26px; cursor: pointer; white-space: nowrap; }
.dt-btn:hover:not(:disabled) { border-color: var(--dt-accent); }
.dt-btn:disabled { opacity: .5; cursor: default; }
.dt-btn:focus-visible, .dt-input:focus-visible, .dt-tab:focus-visible { outline: 2px solid var(--dt-accent); outline-offset: 1px; }
.dt-btn-primary { background: var(--dt-accent); border-color: var(--dt-accent); color: #fff !important; }
.dt-btn-small { min-height: 20px; padding: 0 6px; font-size: var(--dt-small); }
.dt-btn-link { background: none; border: none; padding: 0; min-height: 0; color: var(--dt-accent); cursor: pointer; text-decoration: underline; }
.dt-input { background: var(--dt-input-bg); border: 1px solid var(--dt-border-strong); border-radius: 4px; padding: 2px 6px; min-height: 26px; }
.dt-muted { color: var(--dt-fg2); }
.dt-small { font-size: var(--dt-small); }
.dt-mono { font-family: var(--dt-mono); font-size: var(--dt-code-size); }
.dt-pill { display: inline-block; border-radius: 9px; padding: 0 8px; font-size: var(--dt-small); font-weight: 600; line-height: 18px; white-space: nowrap; }
.dt-dot { display: inline-block; width: 9px; height: 9px; border-radius: 50%; flex: none; }
.dt-strip { display: inline-flex; gap: 1px; align-items: center; }
.dt-strip .dt-dot { width: 6px; height: 10px; border-radius: 1px; }
.dt-note { color: var(--dt-fg2); padding: 8px; }
.dt-loading { display: flex; align-items: center; gap: 6px; }
.dt-spinner { width: 12px; height: 12px; border: 2px solid var(--dt-border-strong); border-top-color: var(--dt-accent); border-radius: 50%; animation: dt-spin .8s linear infinite; }
@keyframes dt-spin { to { transform: rotate(360deg); } }
.dt-error { color: var(--dt-error); background: color-mix(in srgb, var(--dt-error) 9%, transparent);
  border: 1px solid color-mix(in srgb, var(--dt-error) 40%, transparent); border-radius: 4px; padding: 6px 8px; margin: 6px 0;
  display: flex; gap: 8px; align-items: center; justify-content: space-between; white-space: pre-wrap; overflow-wrap: anywhere; }
.dt-ok { color: var(--dt-fg2); padding: 4px 0; overflow-wrap: anywhere; }
`;

const HEADER = `
.dt-header { display: flex; flex-wrap: wrap; gap: 6px 10px; align-items: center; padding-bottom: 8px; border-bottom: 1px solid var(--dt-border); }
.dt-field { display: inline-flex; align-items: center; gap: 4px; }
.dt-label { color: var(--dt-fg2); font-size: var(--dt-small); }
.dt-combo { position: relative; }
.dt-combo .dt-input { width: 260px; }
.dt-combo-list { position: absolute; z-index: 20; top: 100%; left: 0; margin-top: 2px; min-width: 340px; max-width: 520px; max-height: 320px; overflow: auto;
  background: var(--dt-bg); border: 1px solid var(--dt-border-strong); border-radius: 4px; box-shadow: 0 4px 14px rgba(0,0,0,.18); padding: 2px 0; }
.dt-combo-item { display: flex; align-items: center; gap: 8px; padding: 3px 8px; cursor: pointer; }
.dt-combo-item[aria-selected="true"], .dt-combo-item:hover { background: var(--dt-accent-soft); }
.dt-combo-name { flex: 1; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.dt-presets { display: inline-flex; }
.dt-presets .dt-btn { border-radius: 0; margin-left: -1px; padding: 2px 7px; }
.dt-presets .dt-btn:first-child { border-radius: 4px 0 0 4px; }
.dt-presets .dt-btn:last-child { border-radius: 0 4px 4px 0; }
.dt-presets .dt-btn[aria-pressed="true"] { background: var(--dt-accent-soft); border-color: var(--dt-accent); }
.dt-menu { position: relative; }
.dt-menu-pop { position: absolute; z-index: 20; top: 100%; left: 0; margin-top: 2px; background: var(--dt-bg); border: 1px solid var(--dt-border-strong);
  border-radius: 4px; box-shadow: 0 4px 14px rgba(0,0,0,.18); padding: 4px 0; min-width: 170px; }
.dt-menu-pop label { display: flex; align-items: center; gap: 6px; padding: 2px 10px; cursor: pointer; }
.dt-menu-pop label:hover { background: var(--dt-accent-soft); }
.dt-store { margin-left: auto; color: var(--dt-fg2); font-size: var(--dt-small); max-width: 40%; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.dt-message { flex-basis: 100%; color: var(--dt-fg2); }
.dt-date { width: 17ch; font-family: var(--dt-mono); font-size: var(--dt-code-size); font-variant-numeric: tabular-nums; }
.dt-input[aria-invalid="true"] { border-color: var(--dt-error); outline: 1px solid var(--dt-error); }
.dt-range-error { flex-basis: 100%; color: var(--dt-error); font-size: var(--dt-small); }
.dt-zone { white-space: nowrap; }
.dt-message:empty { display: none; }
.dt-unreachable { color: var(--dt-error); background: color-mix(in srgb, var(--dt-error) 9%, transparent);
  border: 1px solid color-mix(in srgb, var(--dt-error) 40%, transparent); border-radius: 4px; padding: 4px 8px;
  margin: 6px 0; font-weight: 600; }
.dt-unreachable[hidden] { display: none; }
`;

const TABLE = `
.dt-runs { margin-top: 8px; }
.dt-runs-scroll { max-height: min(340px, 32vh); overflow: auto; border: 1px solid var(--dt-border); border-radius: 4px; }
.dt-table { border-collapse: collapse; width: 100%; }
.dt-table th { position: sticky; top: 0; z-index: 1; background: var(--dt-bg2); color: var(--dt-fg2); font-weight: 600; text-align: left;
  font-size: var(--dt-small); padding: 4px 8px; border-bottom: 1px solid var(--dt-border); white-space: nowrap; }
.dt-table td { padding: 3px 8px; border-bottom: 1px solid var(--dt-border); white-space: nowrap; vertical-align: middle; }
.dt-table tbody tr { cursor: pointer; }
.dt-table tbody tr:hover { background: var(--dt-accent-soft); }
.dt-table tr.dt-selected { background: var(--dt-accent-soft); box-shadow: inset 3px 0 0 var(--dt-accent); }
.dt-table tr.dt-rerun-row td:nth-child(2) { padding-left: 22px; }
.dt-num { text-align: right; font-variant-numeric: tabular-nums; }
.dt-err-cell { overflow: hidden; text-overflow: ellipsis; color: var(--dt-error); }
.dt-table td.dt-err-cell { max-width: 0; width: 100%; min-width: 120px; }
.dt-toggle { font-size: var(--dt-small); }
.dt-pager { display: flex; align-items: center; gap: 8px; justify-content: flex-end; padding-top: 6px; color: var(--dt-fg2); }
`;

const BODY = `
.dt-body { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 8px; align-items: stretch; }
.dt-dagpanel { flex: 3 1 460px; min-width: 0; border: 1px solid var(--dt-border); border-radius: 4px; display: flex; flex-direction: column;
  overflow: hidden; }
.dt-runhead { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 10px; padding: 4px 8px; border-bottom: 1px solid var(--dt-border); }
.dt-runhead .dt-title { font-weight: 600; }
.dt-dagbar { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; padding: 3px 8px; border-bottom: 1px solid var(--dt-border); }
.dt-dagbar .dt-input { width: 170px; }
.dt-legend { display: flex; flex-wrap: wrap; gap: 4px 10px; align-items: center; font-size: var(--dt-small); color: var(--dt-fg2); }
.dt-legend span { display: inline-flex; align-items: center; gap: 4px; }
.dt-swatch-reused { width: 14px; height: 9px; border: 1.5px dashed var(--dt-fg2); border-radius: 2px; }
.dt-dagview { position: relative; flex: 1 0 auto; min-height: 0; overflow: hidden; cursor: grab; background: var(--dt-bg); touch-action: none; }
.dt-dagview.dt-panning { cursor: grabbing; }
.dt-dagview svg, .dt-dagview canvas { position: absolute; inset: 0; width: 100%; height: 100%; display: block; }
.dt-dagview .dt-note { position: absolute; inset: 0; display: flex; align-items: center; justify-content: center; text-align: center; }
.dt-edge { fill: none; stroke: var(--dt-edge); stroke-width: 1.3; }
.dt-edge.dt-hot { stroke: var(--dt-accent); stroke-width: 2.2; }
.dt-node { cursor: pointer; }
.dt-node rect { stroke: color-mix(in srgb, var(--dt-fg) 25%, transparent); stroke-width: 1; }
.dt-node.dt-reused rect { stroke: var(--dt-fg); stroke-dasharray: 5 3; stroke-width: 1.5; }
.dt-node text { font-family: var(--dt-font); pointer-events: none; }
.dt-node .dt-node-name { font-weight: 600; }
.dt-node .dt-node-sub { opacity: .9; }
.dt-detail-names .dt-node-sub, .dt-detail-overview .dt-node text { display: none; }
.dt-dag-hint { margin-left: auto; font-size: var(--dt-small); color: var(--dt-fg2); background: var(--dt-accent-soft);
  border-radius: 4px; padding: 1px 8px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-width: 100%; }
.dt-dag-grip { flex: none; height: 8px; cursor: ns-resize; border-top: 1px solid var(--dt-border); background: var(--dt-bg2); position: relative; touch-action: none; }
.dt-dag-grip::after { content: ""; position: absolute; left: 50%; top: 2px; width: 36px; height: 3px; margin-left: -18px; border-radius: 2px;
  background: var(--dt-border-strong); }
.dt-dag-grip:hover::after, .dt-dag-grip:focus-visible::after { background: var(--dt-accent); }
.dt-dag-grip:focus-visible { outline: none; }
.dt-node.dt-match rect { stroke: var(--dt-accent); stroke-width: 3; stroke-dasharray: none; }
.dt-node.dt-current rect { stroke-width: 4.5; }
.dt-node.dt-sel rect { stroke: var(--dt-fg); stroke-width: 3; stroke-dasharray: none; }
.dt-node.dt-plan-execute rect { stroke: var(--dt-accent); stroke-width: 3.5; stroke-dasharray: none; }
.dt-node.dt-plan-reuse { opacity: .45; }
.dt-node.dt-plan-skip { opacity: .2; }
.dt-tooltip { position: absolute; pointer-events: none; z-index: 5; background: var(--dt-bg); border: 1px solid var(--dt-border-strong); border-radius: 4px;
  padding: 3px 6px; font-size: var(--dt-small); box-shadow: 0 2px 8px rgba(0,0,0,.15); white-space: pre; }
.dt-dagstatus { padding: 2px 8px; font-size: var(--dt-small); color: var(--dt-fg3); border-top: 1px solid var(--dt-border); }
.dt-dagstatus:empty { display: none; }
/* contain: size: the task panel takes the graph panel's height (at least its min-height), whatever its content */
.dt-taskpanel { flex: 2 1 400px; min-width: 0; border: 1px solid var(--dt-border); border-radius: 4px; display: flex; flex-direction: column;
  min-height: 340px; contain: size; }
.dt-taskpanel[hidden] { display: none; }
.dt-taskhead { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 8px; padding: 6px 8px; border-bottom: 1px solid var(--dt-border); }
.dt-taskhead .dt-title { font-weight: 600; overflow-wrap: anywhere; }
.dt-taskhead .dt-close { margin-left: auto; }
.dt-tabs { display: flex; gap: 2px; padding: 0 6px; border-bottom: 1px solid var(--dt-border); }
.dt-tab { background: none; border: none; border-bottom: 2px solid transparent; padding: 5px 10px; cursor: pointer; color: var(--dt-fg2); }
.dt-tab[aria-selected="true"] { color: var(--dt-fg); border-bottom-color: var(--dt-accent); font-weight: 600; }
.dt-tabbody { flex: 1; min-height: 0; overflow: auto; padding: 6px 8px; }
/* .dt-root first: JupyterLab's output area floats dt at 20 % width and makes dl a block (.jp-OutputArea-output dt) */
.dt-root .dt-kv { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 2px 12px; width: auto; margin: 0;
  padding: 0; overflow: visible; }
.dt-root .dt-kv > dt, .dt-root .dt-kv > dd { display: block; float: none; clear: none; width: auto; margin: 0; padding: 0;
  min-width: 0; }
.dt-root .dt-kv > dt { grid-column: 1; color: var(--dt-fg2); font-weight: normal; white-space: nowrap; }
.dt-root .dt-kv > dd { grid-column: 2; overflow-wrap: anywhere; }
.dt-pre { font-family: var(--dt-mono); font-size: var(--dt-code-size); white-space: pre-wrap; overflow-wrap: anywhere; margin: 4px 0;
  background: var(--dt-bg2); border-radius: 4px; padding: 6px 8px; max-height: 320px; overflow: auto; }
`;

const LOGS = `
.dt-logview { display: flex; flex-direction: column; height: 100%; min-height: 0; gap: 4px; }
.dt-logbar { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
.dt-logbar .dt-input { width: 180px; }
.dt-logbar label { display: inline-flex; gap: 4px; align-items: center; color: var(--dt-fg2); font-size: var(--dt-small); }
.dt-log { flex: 1; min-height: 120px; overflow: auto; font-family: var(--dt-mono); font-size: var(--dt-code-size); background: var(--dt-bg2);
  border-radius: 4px; padding: 4px 0; }
.dt-line { white-space: pre-wrap; overflow-wrap: anywhere; padding: 0 8px; min-height: 1.4em; }
.dt-line.dt-sys { color: var(--dt-fg3); }
.dt-log.dt-hide-sys .dt-sys { display: none; }
.dt-line.dt-hit { background: color-mix(in srgb, var(--dt-warn) 30%, transparent); }
.dt-matches { max-height: 110px; overflow: auto; border: 1px solid var(--dt-border); border-radius: 4px; font-family: var(--dt-mono); font-size: var(--dt-small); }
.dt-match-item { display: block; width: 100%; text-align: left; background: none; border: none; padding: 1px 6px; cursor: pointer; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.dt-match-item:hover, .dt-match-item[aria-current="true"] { background: var(--dt-accent-soft); }
.dt-match-item .dt-lineno { color: var(--dt-fg3); margin-right: 8px; }
.dt-ansi-black-fg { color: #3e424d; } .dt-ansi-red-fg { color: #e75c58; } .dt-ansi-green-fg { color: #00a250; } .dt-ansi-yellow-fg { color: #ddb62b; }
.dt-ansi-blue-fg { color: #208ffb; } .dt-ansi-magenta-fg { color: #d160c4; } .dt-ansi-cyan-fg { color: #60c6c8; } .dt-ansi-white-fg { color: #c5c1b4; }
.dt-ansi-bright-black-fg { color: #7f8590; } .dt-ansi-bright-red-fg { color: #f2635f; } .dt-ansi-bright-green-fg { color: #2fbf71; } .dt-ansi-bright-yellow-fg { color: #e8c547; }
.dt-ansi-bright-blue-fg { color: #4aa3ff; } .dt-ansi-bright-magenta-fg { color: #e07ad6; } .dt-ansi-bright-cyan-fg { color: #7ad8da; } .dt-ansi-bright-white-fg { color: #e5e3dc; }
.dt-ansi-black-bg { background: #3e424d; } .dt-ansi-red-bg { background: #e75c58; } .dt-ansi-green-bg { background: #00a250; } .dt-ansi-yellow-bg { background: #ddb62b; }
.dt-ansi-blue-bg { background: #208ffb; } .dt-ansi-magenta-bg { background: #d160c4; } .dt-ansi-cyan-bg { background: #60c6c8; } .dt-ansi-white-bg { background: #c5c1b4; }
.dt-ansi-bright-black-bg { background: #7f8590; } .dt-ansi-bright-red-bg { background: #f2635f; } .dt-ansi-bright-green-bg { background: #2fbf71; } .dt-ansi-bright-yellow-bg { background: #e8c547; }
.dt-ansi-bright-blue-bg { background: #4aa3ff; } .dt-ansi-bright-magenta-bg { background: #e07ad6; } .dt-ansi-bright-cyan-bg { background: #7ad8da; } .dt-ansi-bright-white-bg { background: #e5e3dc; }
.dt-ansi-bold { font-weight: 700; } .dt-ansi-dim { opacity: .65; } .dt-ansi-italic { font-style: italic; } .dt-ansi-underline { text-decoration: underline; }
.dt-ansi-strikethrough { text-decoration: line-through; } .dt-ansi-hidden { color: transparent !important; }
.dt-ansi-reverse { background: var(--dt-fg); color: var(--dt-bg); }
`;

const RESULT_AND_DIALOG = `
.dt-resultmeta { display: flex; flex-wrap: wrap; gap: 4px 14px; align-items: center; margin-bottom: 6px; }
.dt-resultmeta b { font-weight: 600; }
.dt-preview-scroll { overflow: auto; max-height: 300px; border: 1px solid var(--dt-border); border-radius: 4px; }
.dt-preview { border-collapse: collapse; font-family: var(--dt-mono); font-size: var(--dt-code-size); }
.dt-preview th, .dt-preview td { padding: 2px 8px; border-bottom: 1px solid var(--dt-border); white-space: nowrap; max-width: 360px; overflow: hidden; text-overflow: ellipsis; }
.dt-preview th { position: sticky; top: 0; background: var(--dt-bg2); text-align: left; }
.dt-preview th .dt-dtype { display: block; font-weight: 400; color: var(--dt-fg3); font-size: var(--dt-small); }
.dt-loadbar { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin: 8px 0; }
.dt-modal { position: absolute; inset: 0; z-index: 30; background: rgba(0,0,0,.18); display: flex; align-items: flex-start; justify-content: center; padding-top: 48px; border-radius: 6px; }
.dt-dialog { background: var(--dt-bg); color: var(--dt-fg); border: 1px solid var(--dt-border-strong); border-radius: 6px; box-shadow: 0 8px 28px rgba(0,0,0,.3);
  width: min(460px, calc(100% - 24px)); padding: 12px 14px; display: flex; flex-direction: column; gap: 10px; }
.dt-dialog h3 { margin: 0; font-size: calc(var(--dt-size) + 2px); }
.dt-dialog .dt-row { display: flex; align-items: center; gap: 8px; }
.dt-dialog .dt-row > .dt-label { width: 84px; flex: none; }
.dt-dialog select { flex: 1; min-width: 0; }
.dt-plan { display: flex; gap: 12px; flex-wrap: wrap; padding: 6px 8px; background: var(--dt-bg2); border-radius: 4px; min-height: 30px; align-items: center; }
.dt-plan b { font-variant-numeric: tabular-nums; }
.dt-actions { display: flex; justify-content: flex-end; gap: 8px; }
`;

export const CSS = THEME + HEADER + TABLE + BODY + LOGS + RESULT_AND_DIALOG + OVERVIEW_CSS + VIEWS_CSS + LIVE_CSS;

/** Add the stylesheet to the explorer root (once per root). */
export function injectStyles(root: HTMLElement): void {
  if (root.querySelector(":scope > style[data-dt-styles]")) return;
  const style = document.createElement("style");
  style.dataset.dtStyles = "1";
  style.textContent = CSS;
  root.prepend(style);
}
