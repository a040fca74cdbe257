// Mounts the whole explorer on a fake model answered by a fixture store (for the views' tests).
import type { AnyModel } from "@anywidget/types";
import type { Model } from "../types";
import widget from "../widget";
import { FakeModel } from "./fakemodel";
import { type Store, defaultStore, kernel } from "./fixtures";

export interface Mounted {
  model: FakeModel;
  store: Store;
  el: HTMLElement;
  cleanup: () => void;
}

export function mountExplorer(state: Partial<Model> = {}, store: Store = defaultStore()): Mounted {
  const el = document.createElement("div");
  document.body.appendChild(el);
  const model = new FakeModel(kernel(store), state);
  const dispose = widget.render({
    model: model as unknown as AnyModel<Model>,
    el,
    signal: new AbortController().signal,
    host: { getWidget: () => Promise.reject(new Error("no host")), getModel: () => Promise.reject(new Error("no host")) },
    experimental: { invoke: () => Promise.reject(new Error("not used")) },
  }) as () => void;
  return {
    model,
    store,
    el,
    cleanup: () => {
      dispose();
      el.remove();
    },
  };
}

export const byTestId = <T extends Element = HTMLElement>(root: ParentNode, id: string): T | null =>
  root.querySelector<T>(`[data-testid="${id}"]`);
export const allByTestId = (root: ParentNode, id: string): HTMLElement[] => [...root.querySelectorAll<HTMLElement>(`[data-testid="${id}"]`)];
export const clickOn = (node: Element | null): void => {
  if (!node) throw new Error("nothing to click");
  node.dispatchEvent(new MouseEvent("click", { bubbles: true }));
};
