/**
 * The benchmark's chart as a plain SVG (no plotting dependency): one panel per run kind (first apply,
 * second apply, dry run), median wall time against the number of hosts, both axes logarithmic, one line
 * per tool, the min–max spread as a vertical bar.
 */
import { PHASE_TITLES, PHASES, TOOLS, type Tool } from './tools.ts';
import type { Summary } from './report.ts';

const COLORS: Record<Tool, string> = { drover: '#1b7f3b', ansible: '#c0392b', floor: '#2c5aa0' };
const PANEL_W = 300;
const PANEL_H = 260;
const MARGIN = { left: 56, right: 16, top: 40, bottom: 44 };

function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

/** Powers of ten spanning [min, max], at least one decade. */
export function decades(min: number, max: number): number[] {
  const low = Math.floor(Math.log10(min));
  const high = Math.max(low + 1, Math.ceil(Math.log10(max)));
  return Array.from({ length: high - low + 1 }, (_, index) => 10 ** (low + index));
}

function label(value: number): string {
  return value >= 1 ? String(value) : value.toPrecision(1);
}

export function renderChart(summaries: readonly Summary[], title: string): string {
  const sizes = [...new Set(summaries.map((s) => s.hosts))].sort((a, b) => a - b);
  const times = summaries.flatMap((s) => [s.wall.min / 1000, s.wall.max / 1000]);
  if (sizes.length === 0 || times.length === 0) throw new Error('chart: no figures to draw');
  const yTicks = decades(Math.min(...times), Math.max(...times));
  const [yLow, yHigh] = [Math.log10(yTicks[0]!), Math.log10(yTicks[yTicks.length - 1]!)];
  // With one N the x axis spans a factor of 2 around it, so the points are not drawn on the frame.
  const [xLow, xHigh] =
    sizes.length === 1 ? [Math.log10(sizes[0]! / 2), Math.log10(sizes[0]! * 2)] : [Math.log10(sizes[0]!) - 0.1, Math.log10(sizes[sizes.length - 1]!) + 0.1];
  const plotW = PANEL_W - MARGIN.left - MARGIN.right;
  const plotH = PANEL_H - MARGIN.top - MARGIN.bottom;
  const x = (hosts: number) => MARGIN.left + ((Math.log10(hosts) - xLow) / (xHigh - xLow)) * plotW;
  const y = (seconds: number) => MARGIN.top + plotH - ((Math.log10(seconds) - yLow) / (yHigh - yLow)) * plotH;
  const f = (n: number) => n.toFixed(1);

  const parts: string[] = [];
  PHASES.forEach((phase, index) => {
    const g: string[] = [`<g transform="translate(${index * PANEL_W},30)">`];
    g.push(`<text x="${MARGIN.left + plotW / 2}" y="24" text-anchor="middle" font-weight="bold">${PHASE_TITLES[phase]}</text>`);
    g.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);
    for (const tick of yTicks) {
      g.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${f(y(tick))}" y2="${f(y(tick))}" stroke="#ddd"/>`);
      g.push(`<text x="${MARGIN.left - 6}" y="${f(y(tick) + 4)}" text-anchor="end">${label(tick)}</text>`);
    }
    for (const hosts of sizes) {
      g.push(`<line x1="${f(x(hosts))}" x2="${f(x(hosts))}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#eee"/>`);
      g.push(`<text x="${f(x(hosts))}" y="${MARGIN.top + plotH + 16}" text-anchor="middle">${hosts}</text>`);
    }
    g.push(`<text x="${MARGIN.left + plotW / 2}" y="${PANEL_H - 6}" text-anchor="middle">hosts (log)</text>`);
    g.push(`<text transform="translate(14,${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">wall seconds (log)</text>`);
    for (const tool of TOOLS) {
      const points = summaries.filter((s) => s.tool === tool && s.phase === phase).sort((a, b) => a.hosts - b.hosts);
      if (points.length === 0) continue;
      const color = COLORS[tool];
      if (points.length > 1) {
        const path = points.map((s) => `${f(x(s.hosts))},${f(y(s.wall.median / 1000))}`).join(' ');
        g.push(`<polyline points="${path}" fill="none" stroke="${color}" stroke-width="2"/>`);
      }
      for (const s of points) {
        g.push(`<line x1="${f(x(s.hosts))}" x2="${f(x(s.hosts))}" y1="${f(y(s.wall.min / 1000))}" y2="${f(y(s.wall.max / 1000))}" stroke="${color}"/>`);
        g.push(
          `<circle cx="${f(x(s.hosts))}" cy="${f(y(s.wall.median / 1000))}" r="3.5" fill="${color}"><title>${tool} ${PHASE_TITLES[phase]}, ${s.hosts} hosts: ${(s.wall.median / 1000).toFixed(2)} s</title></circle>`,
        );
      }
    }
    g.push('</g>');
    parts.push(g.join('\n'));
  });
  const width = PANEL_W * PHASES.length;
  const height = PANEL_H + 60;
  const legend = TOOLS.filter((tool) => summaries.some((s) => s.tool === tool))
    .map((tool, index) => {
      const lx = 20 + index * 110;
      return `<line x1="${lx}" x2="${lx + 20}" y1="${height - 14}" y2="${height - 14}" stroke="${COLORS[tool]}" stroke-width="3"/><text x="${lx + 26}" y="${height - 10}">${tool}</text>`;
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12" role="img">
<title>${escapeXml(title)}</title>
<rect width="100%" height="100%" fill="white"/>
<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(title)}</text>
${parts.join('\n')}
${legend}
</svg>
`;
}
