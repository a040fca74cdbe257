import { expect, test } from "vitest";
import { AnsiParser, paletteColour, renderAnsi, stripAnsi } from "./ansi";

function rendered(text: string): HTMLDivElement {
  const div = document.createElement("div");
  div.appendChild(renderAnsi(text));
  return div;
}

function onlySpans(el: Element): boolean {
  return [...el.querySelectorAll("*")].every((e) => e.tagName === "SPAN");
}

test("basic colours become classed spans and plain text stays a text node", () => {
  const div = rendered("ok \x1b[31mred\x1b[0m and \x1b[1;92mbold bright green\x1b[0m.");
  expect(div.textContent).toBe("ok red and bold bright green.");
  const spans = [...div.querySelectorAll("span")];
  expect(spans.map((s) => s.textContent)).toEqual(["red", "bold bright green"]);
  expect(spans[0].className).toBe("dt-ansi-red-fg");
  expect(spans[1].classList.contains("dt-ansi-bright-green-fg")).toBe(true);
  expect(spans[1].classList.contains("dt-ansi-bold")).toBe(true);
});

test("256 and true colours become inline rgb colours", () => {
  const div = rendered("\x1b[38;5;196mA\x1b[48;2;1;2;3mB\x1b[0m");
  const [a, b] = [...div.querySelectorAll("span")];
  expect(a.style.color).toBe("rgb(255, 0, 0)");
  expect(b.style.backgroundColor).toBe("rgb(1, 2, 3)");
  expect(paletteColour(232)).toBe("rgb(8, 8, 8)");
});

test("colours carry over to the next line like in a terminal", () => {
  const parser = new AnsiParser();
  parser.segments("\x1b[33mstart");
  const next = parser.segments("still yellow\x1b[0m plain");
  expect(next[0].style?.classes).toEqual(["dt-ansi-yellow-fg"]);
  expect(next[1].style).toBeNull();
});

test("cursor moves, OSC titles and carriage-return progress are not shown", () => {
  expect(stripAnsi("\x1b]0;title\x07abc\x1b[2Kdef")).toBe("abcdef");
  const parser = new AnsiParser();
  const segs = parser.segments("10%\r50%\r100% done\r");
  expect(segs.map((s) => s.text).join("")).toBe("100% done");
});

const CORPUS = [
  "<script>window.__xss=1</script>",
  '<img src=x onerror="window.__xss=1">',
  "\x1b]8;;javascript:window.__xss=1\x1b\\click me\x1b]8;;\x1b\\",
  "\x1b]8;;data:text/html,<script>window.__xss=1</script>\x07data link\x1b]8;;\x07",
  "<a href=\"javascript:window.__xss=1\">x</a> &amp; &lt;b&gt;",
  "\x1b[31m<b onmouseover=window.__xss=1>red html</b>\x1b[0m",
  "https://example.com/ javascript:alert(1)",
];

test.each(CORPUS)("log text %j renders as literal text only", (line) => {
  const div = rendered(line);
  expect(onlySpans(div)).toBe(true);
  expect(div.querySelector("a, img, script, b")).toBeNull();
  expect(div.textContent).toBe(stripAnsi(line));
  expect((window as unknown as { __xss?: number }).__xss).toBeUndefined();
});

test("OSC 8 hyperlinks keep their visible text and drop the target", () => {
  const div = rendered("\x1b]8;;javascript:alert(1)\x1b\\click me\x1b]8;;\x1b\\ after");
  expect(div.textContent).toBe("click me after");
  expect(div.textContent).not.toContain("javascript");
});

test("html in log text is visible as the characters themselves", () => {
  const div = rendered("<script>window.__xss=1</script>");
  expect(div.textContent).toBe("<script>window.__xss=1</script>");
  expect(div.childNodes.length).toBe(1);
  expect(div.firstChild?.nodeType).toBe(Node.TEXT_NODE);
});
