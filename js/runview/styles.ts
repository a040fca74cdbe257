// Styles of the single-run view: the progress line and bar; the run view has no Rerun button (the explorer has).
export const RUNVIEW_CSS = `
.dt-runview .dt-progress { display: flex; flex-direction: column; gap: 4px; margin-bottom: 2px; }
.dt-runview .dt-progress-head { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
.dt-runview .dt-progress-text { font-variant-numeric: tabular-nums; }
.dt-runview .dt-progress-bar { display: flex; height: 6px; border-radius: 3px; overflow: hidden; background: var(--dt-bg3); }
.dt-runview .dt-progress-seg { display: block; height: 100%; transition: width .3s ease; }
.dt-runview .dt-progress[data-state="running"] .dt-progress-seg[data-state="running"] {
  background-image: linear-gradient(90deg, transparent 0, rgba(255,255,255,.45) 50%, transparent 100%) !important;
  background-size: 200% 100%; animation: dt-progress-move 1.2s linear infinite; }
@keyframes dt-progress-move { from { background-position: 100% 0; } to { background-position: -100% 0; } }
.dt-runview [data-testid="dt-dag-rerun"] { display: none; }
`;
