// Web Worker entry: lays out graphs off the main thread (bundled as text by build.mjs, started from a Blob URL).
import { computeLayout, type LayoutInput } from "./layout";

interface WorkerScope {
  addEventListener(type: "message", fn: (ev: MessageEvent<{ id: number; input: LayoutInput }>) => void): void;
  postMessage(message: unknown, transfer?: Transferable[]): void;
}

const scope = self as unknown as WorkerScope;

scope.addEventListener("message", (ev) => {
  const { id, input } = ev.data;
  try {
    const result = computeLayout(input);
    scope.postMessage({ id, result }, [result.x.buffer, result.y.buffer]);
  } catch (err) {
    scope.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
});
