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
    // Labels sit outside the circle, on the side away from the centre, so they do not cover lines.
    const right = p.x >= c
    const short = label.length > 18 ? label.slice(0, 17) + '…' : label
    return `<g class="${node.reachable ? 'ok' : 'bad'}"><circle cx="${p.x.toFixed(1)}" cy="${p.y.toFixed(1)}" r="7"><title>${esc(`${label} ${node.address}${node.reachable ? '' : ` — ${node.reason ?? ''}`}`)}</title></circle>` +
      `<text x="${(p.x + (right ? 10 : -10)).toFixed(1)}" y="${(p.y + 4).toFixed(1)}" text-anchor="${right ? 'start' : 'end'}">${esc(short)}</text></g>`
  }).join('')
  const w = size + 2 * 130
  return `<section><h2>Who told us about whom</h2><p class="muted">A line joins a node to each node it gave us. Green: reachable; red: not (hover for the address and why).</p>` +
    `<svg role="img" aria-label="graph" width="${w}" height="${size}" viewBox="-130 0 ${w} ${size}" class="graph"><g class="edges">${edges}</g>${dots}</svg></section>`
}

const short = (address: string): string => {
  const at = address.indexOf('@')
  return at === 40 ? `${address.slice(0, 8)}…${address.slice(at)}` : address
}

export function renderReport (result: CrawlResult): string {
  const versions = new Map<string, number>()
  for (const node of result.nodes) {
    if (!node.reachable) continue
    const i = node.nodeInfo
    const key = `${i?.version || 'unknown'} (p2p ${i?.protocolVersion.p2p ?? '?'}, block ${i?.protocolVersion.block ?? '?'})`
    versions.set(key, (versions.get(key) ?? 0) + 1)
  }
  const reasons = Object.entries(result.counts.byReason).sort((a, b) => b[1] - a[1])
  const rows = [...result.addresses].sort((a, b) => Number(b.reachable) - Number(a.reachable) || a.id.localeCompare(b.id) || a.address.localeCompare(b.address)).map(a => {
    const pv = a.nodeInfo?.protocolVersion
    return `<tr class="${a.reachable ? 'ok' : 'bad'}"><td><code title="${esc(a.address)}">${esc(short(a.address))}</code></td><td>${a.reachable ? 'reachable' : esc(a.reason ?? 'not probed')}</td>` +
      `<td>${esc(a.nodeInfo?.moniker ?? '')}</td><td>${esc(a.nodeInfo?.version ?? '')}</td><td>${pv !== undefined ? `${pv.p2p} / ${pv.block} / ${pv.app}` : ''}</td><td>${esc(a.nodeInfo?.network ?? '')}</td>` +
      `<td>${a.pingMs !== undefined ? `${a.pingMs} ms` : ''}</td><td>${esc(a.heardFrom.map(h => h === 'seed' ? 'seed' : h.slice(0, 8)).join(', '))}</td>` +
      `<td class="msg">${a.reachable ? '' : esc(a.message ?? '')}</td></tr>`
  }).join('\n')
  const warnings = result.warnings.length === 0
    ? ''
    : `<section class="warn"><h2>Incompatible versions</h2>${result.warnings.map(w => `<p>${esc(w)}</p>`).join('')}</section>`
  const card = (label: string, n: number, cls = ''): string => `<div class="card ${cls}"><div class="n">${n}</div><div>${label}</div></div>`
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>Switchyard crawl — ${esc(result.chainId ?? 'unknown network')}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1d2330; background: #fff; max-width: 1232px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 8px; }
.muted { color: #667; } .cards { display: flex; gap: 12px; margin: 16px 0; }
.card { border: 1px solid #dde; border-radius: 8px; padding: 10px 16px; min-width: 110px; }
.card .n { font-size: 26px; font-weight: 600; } .card.ok .n { color: #1a7f37; } .card.bad .n { color: #c62828; }
.chart text { font-size: 12px; fill: #333; } .graph line { stroke: #9aa4b8; stroke-width: 1; opacity: .6; }
.graph .ok circle { fill: #2da44e; } .graph .bad circle { fill: #d32f2f; } .graph text { font-size: 10px; fill: #333; }
.warn { border: 1px solid #e0a800; background: #fff8e1; border-radius: 8px; padding: 4px 16px; }
table { border-collapse: collapse; width: 100%; font-size: 12px; table-layout: fixed; } th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid #eee; vertical-align: top; overflow-wrap: anywhere; }
th:nth-child(1) { width: 210px; } th:nth-child(2) { width: 110px; } th:nth-child(3) { width: 120px; } th:nth-child(4) { width: 70px; } th:nth-child(5) { width: 70px; }
th:nth-child(6) { width: 100px; } th:nth-child(7) { width: 60px; } th:nth-child(8) { width: 110px; }
tr.bad td:nth-child(2) { color: #c62828; } tr.ok td:nth-child(2) { color: #1a7f37; } td.msg { color: #555; }
</style></head><body>
<h1>Network crawl: ${esc(result.chainId ?? 'unknown network')}</h1>
<p class="muted">From ${result.seeds.length} seed(s), ${esc(result.started)} to ${esc(result.finished)}.</p>
<div class="cards">${card('nodes', result.counts.nodes)}${card('reachable nodes', result.counts.reachableNodes, 'ok')}${card('addresses probed', result.counts.probed)}${card('addresses reachable', result.counts.reachable, 'ok')}${card('addresses not reachable', result.counts.failed, 'bad')}</div>
${warnings}
${barChart('Software and protocol versions (reachable nodes)', [...versions].sort((a, b) => b[1] - a[1]), '#3b6fd4')}
${barChart('Why addresses were not reachable', reasons, '#d9534f')}
${graph(result)}
<section><h2>Addresses</h2><p class="muted">One row per (node ID, address) heard; a node reachable at one address may be listed unreachable at an old one. Protocol: p2p / block / app.</p>
<table><thead><tr><th>address</th><th>status</th><th>moniker</th><th>version</th><th>protocol</th><th>network</th><th>ping</th><th>heard from</th><th>why not</th></tr></thead>
<tbody>
${rows}
</tbody></table></section>
</body></html>
`
}
