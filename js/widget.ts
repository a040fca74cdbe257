// Placeholder entry; replaced by the explorer.
import type { RenderProps } from "@anywidget/types";
function render({ el }: RenderProps): void {
  el.textContent = "datatailr_jupyter";
}
export default { render };
