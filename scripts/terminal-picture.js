// Writes docs/terminal.svg, the README's picture of the terminal view, from the same drawing
// code as `glitter cpu`: the bar style at 61 % CPU load on four cores. Run `npm run build` first.
import { writeFileSync } from "node:fs";
import { drawBoard } from "../dist/src/apps/render.js";
import { bar } from "../dist/src/visuals/visuals.js";

const reading = { total: 61.4, cores: [72.0, 55.3, 64.8, 53.5] };
const frame = bar(reading, { brightness: 96, gamma: 2.2 });
const grid = drawBoard([...frame.pwm]);
const status = `  CPU  ${reading.total.toFixed(1)} %   bar   emulated board   frame 42   bus 1137 bytes`;

const cellWidth = 9.6;
const lineHeight = 19;
const columns = Math.max(grid[0].length, status.length) + 2;
const width = Math.ceil(columns * cellWidth);
const height = (grid.length + 3) * lineHeight;
const escape = (text) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;");

const cells = [];
grid.forEach((row, y) => {
  row.forEach((cell, x) => {
    if (cell.char === " ") {
      return;
    }
    const fill = cell.rgb === undefined ? "#ccc" : `rgb(${cell.rgb.join(",")})`;
    cells.push(
      `<text x="${((x + 1) * cellWidth).toFixed(1)}" y="${(y + 1.5) * lineHeight}" fill="${fill}">${escape(cell.char)}</text>`,
    );
  });
});
cells.push(
  `<text x="${cellWidth}" y="${(grid.length + 2) * lineHeight}" fill="#ddd" xml:space="preserve">${escape(status)}</text>`,
);

writeFileSync(
  new URL("../docs/terminal.svg", import.meta.url),
  `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="16">
<rect width="100%" height="100%" rx="8" fill="#1d1f21"/>
${cells.join("\n")}
</svg>
`,
);
