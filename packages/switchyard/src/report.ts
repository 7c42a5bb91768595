/**
 * The crawl report: one self-contained HTML page (inline CSS and SVG, no script, nothing fetched)
 * with the counts, a chart of versions, a chart of failure reasons, and a graph of who told us
 * about whom. Every string from the network is escaped: monikers are untrusted input.
 */
import type { CrawlResult } from './crawl.js'

const esc = (s: string): string => s.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

function barChart (title: string, data: Array<[string, number]>, color: string): string {
  if (data.length === 0) return `<section><h2>${esc(title)}</h2><p class="muted">none</p></section>`
  const max = Math.max(...data.map(d => d[1]))
  const rowH = 26
  const width = 640
  const labelW = 220
  const bars = data.map(([label, n], i) => {
    const w = Math.max(2, Math.round((width - labelW - 60) * n / max))
    const y = i * rowH
    return `<text x="${labelW - 8}" y="${y + 17}" text-anchor="end">${esc(label)}</text>` +
      `<rect x="${labelW}" y="${y + 4}" width="${w}" height="${rowH - 8}" fill="${color}" rx="3"/>` +
      `<text x="${labelW + w + 6}" y="${y + 17}">${n}</text>`
  }).join('')
  return `<section><h2>${esc(title)}</h2><svg role="img" aria-label="${esc(title)}" width="${width}" height="${data.length * rowH}" class="chart">${bars}</svg></section>`
}

function graph (result: CrawlResult): string {
  const nodes = result.nodes
  const n = nodes.length
  if (n === 0) return ''
  const size = 640
  const c = size / 2
  const r = size / 2 - 40
  const pos = new Map(nodes.map((node, i) => {
    const a = (2 * Math.PI * i) / n - Math.PI / 2
    return [node.id, { x: c + r * Math.cos(a), y: c + r * Math.sin(a) }] as const
  }))
  const edges = nodes.flatMap(node => node.knows.filter(k => pos.has(k)).map(k => {
    const a = pos.get(node.id)!
    const b = pos.get(k)!
    return `<line x1="${a.x.toFixed(1)}" y1="${a.y.toFixed(1)}" x2="${b.x.toFixed(1)}" y2="${b.y.toFixed(1)}"/>`
  })).join('')
  const dots = nodes.map(node => {
    const p = pos.get(node.id)!
    const label = node.nodeInfo?.moniker ?? node.id.slice(0, 8)
    return `<g class="${node.reachable ? 'ok' : 'bad'}"><circle cx="${p.x.toFixed(1)}" cy="${p.y.toFixed(1)}" r="7"><title>${esc(`${label} ${node.address}${node.reachable ? '' : ` — ${node.reason ?? ''}`}`)}</title></circle></g>`
  }).join('')
  return `<section><h2>Who told us about whom</h2><p class="muted">A line joins a node to each address it gave us. Green: reachable; red: not (hover for why).</p>` +
    `<svg role="img" aria-label="graph" width="${size}" height="${size}" class="graph"><g class="edges">${edges}</g>${dots}</svg></section>`
}

export function renderReport (result: CrawlResult): string {
  const versions = new Map<string, number>()
  for (const node of result.nodes) if (node.reachable) versions.set(node.nodeInfo?.version || 'unknown', (versions.get(node.nodeInfo?.version || 'unknown') ?? 0) + 1)
  const reasons = Object.entries(result.counts.byReason).sort((a, b) => b[1] - a[1])
  const rows = [...result.nodes].sort((a, b) => Number(b.reachable) - Number(a.reachable) || a.address.localeCompare(b.address)).map(node =>
    `<tr class="${node.reachable ? 'ok' : 'bad'}"><td><code>${esc(node.address)}</code></td><td>${node.reachable ? 'reachable' : esc(node.reason ?? 'not probed')}</td>` +
    `<td>${esc(node.nodeInfo?.moniker ?? '')}</td><td>${esc(node.nodeInfo?.version ?? '')}</td><td>${esc(node.nodeInfo?.network ?? '')}</td>` +
    `<td>${node.pingMs !== undefined ? `${node.pingMs} ms` : ''}</td><td>${esc(node.heardFrom.map(h => h === 'seed' ? 'seed' : h.slice(0, 8)).join(', '))}</td>` +
    `<td class="msg">${node.reachable ? '' : esc(node.message ?? '')}</td></tr>`).join('\n')
  const card = (label: string, n: number, cls = ''): string => `<div class="card ${cls}"><div class="n">${n}</div><div>${label}</div></div>`
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>Switchyard crawl — ${esc(result.chainId ?? 'unknown network')}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1d2330; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 8px; }
.muted { color: #667; } .cards { display: flex; gap: 12px; margin: 16px 0; }
.card { border: 1px solid #dde; border-radius: 8px; padding: 10px 16px; min-width: 110px; }
.card .n { font-size: 26px; font-weight: 600; } .card.ok .n { color: #1a7f37; } .card.bad .n { color: #c62828; }
.chart text { font-size: 12px; fill: #333; } .graph line { stroke: #9aa4b8; stroke-width: 1; opacity: .6; }
.graph .ok circle { fill: #2da44e; } .graph .bad circle { fill: #d32f2f; }
table { border-collapse: collapse; width: 100%; font-size: 13px; } th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eee; vertical-align: top; }
tr.bad td:nth-child(2) { color: #c62828; } tr.ok td:nth-child(2) { color: #1a7f37; } td.msg { color: #555; max-width: 420px; }
</style></head><body>
<h1>Network crawl: ${esc(result.chainId ?? 'unknown network')}</h1>
<p class="muted">From ${result.seeds.length} seed(s), ${esc(result.started)} to ${esc(result.finished)}.</p>
<div class="cards">${card('found', result.counts.found)}${card('probed', result.counts.probed)}${card('reachable', result.counts.reachable, 'ok')}${card('not reachable', result.counts.failed, 'bad')}</div>
${barChart('Software versions (reachable nodes)', [...versions].sort((a, b) => b[1] - a[1]), '#3b6fd4')}
${barChart('Why nodes were not reachable', reasons, '#d9534f')}
${graph(result)}
<section><h2>Nodes</h2><table><thead><tr><th>address</th><th>status</th><th>moniker</th><th>version</th><th>network</th><th>ping</th><th>heard from</th><th>why not</th></tr></thead>
<tbody>
${rows}
</tbody></table></section>
</body></html>
`
}
