// JupyterLab 4 / Notebook 7 plugin: when the %dt_runs explorer dispatches "datatailr:insert-cell",
// insert a code cell with the given source directly below the notebook cell that holds the widget.
// It only inserts; it never runs code and knows nothing about runs.
import { JupyterFrontEnd, JupyterFrontEndPlugin } from "@jupyterlab/application";
import { INotebookTracker, NotebookActions, NotebookPanel } from "@jupyterlab/notebook";

const INSERT_EVENT = "datatailr:insert-cell";
const COMMAND = "datatailr:insert-cell-below";

interface InsertCellDetail {
  code: string;
}

function insertBelow(app: JupyterFrontEnd, panel: NotebookPanel, cellIndex: number, code: string): void {
  const notebook = panel.content;
  if (cellIndex >= 0) notebook.activeCellIndex = cellIndex;
  NotebookActions.insertBelow(notebook);
  const cell = notebook.activeCell;
  if (!cell) return;
  cell.model.sharedModel.setSource(code);
  notebook.mode = "edit";
  cell.editor?.focus();
  app.shell.activateById(panel.id);
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: "datatailr-jupyter-labext:insert-cell",
  description: "Insert a code cell below the cell of the %dt_runs explorer",
  autoStart: true,
  requires: [INotebookTracker],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker) => {
    app.commands.addCommand(COMMAND, {
      label: "Insert a datatailr code cell below",
      execute: (args) => {
        const panel = tracker.currentWidget;
        if (panel) insertBelow(app, panel, -1, String(args.code ?? ""));
      },
    });
    document.addEventListener(INSERT_EVENT, (ev: Event) => {
      const event = ev as CustomEvent<InsertCellDetail>;
      if (typeof event.detail?.code !== "string") return;
      const target = (event.composedPath()[0] ?? event.target) as Node;
      const panel = tracker.find((p) => p.node.contains(target)) ?? tracker.currentWidget;
      if (!panel) return;
      const index = panel.content.widgets.findIndex((c) => c.node.contains(target));
      insertBelow(app, panel, index, event.detail.code);
      event.preventDefault(); // tells the widget the cell was inserted
    });
    document.body.dataset.datatailrLabext = "1";
  },
};

export default plugin;
