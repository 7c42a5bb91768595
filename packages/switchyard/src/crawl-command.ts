/** The `crawl` command: options, progress on the terminal, and the two output files. */
import { promises as fs } from 'node:fs'
import { join, resolve } from 'node:path'
import { writeFileAtomic } from '@switchyard/p2p'
import { parseDuration, splitList, type Overrides } from './config.js'
import { crawl, type CrawlProgress } from './crawl.js'
import { renderReport } from './report.js'
import { EXIT, ExitError } from './seed.js'

function intFlag (flags: Overrides, name: string, dflt: number): number {
  const v = flags[name]
  if (v === undefined) return dflt
  if (typeof v !== 'string' || !/^\d+$/.test(v) || Number(v) < 1) throw new ExitError(EXIT.usage, `--${name.replace(/_/g, '-')} needs a positive integer`)
  return Number(v)
}

function progressLine (p: CrawlProgress): string {
  const reasons = Object.entries(p.byReason).sort((a, b) => b[1] - a[1]).map(([r, n]) => `${r} ${n}`).join(', ')
  return `found ${p.found} · probed ${p.probed} · reachable ${p.reachable} · failed ${p.failed}${reasons !== '' ? ` (${reasons})` : ''}`
}

export async function runCrawl (flags: Overrides): Promise<number> {
  if (typeof flags.seeds !== 'string' || splitList(flags.seeds).length === 0) throw new ExitError(EXIT.usage, 'crawl needs --seeds id@host:port[,…]')
  let timeout = 5000
  if (typeof flags.timeout === 'string') {
    try { timeout = parseDuration(flags.timeout) } catch (err) { throw new ExitError(EXIT.usage, `--timeout: ${(err as Error).message}`) }
  }
  const out = resolve(typeof flags.out === 'string' ? flags.out : 'crawl')
  const tty = process.stderr.isTTY
  let lastPlain = 0
  const onProgress = (p: CrawlProgress): void => {
    if (tty) process.stderr.write(`\r\x1b[2K${progressLine(p)}`)
    else if (Date.now() - lastPlain > 1000) { lastPlain = Date.now(); process.stderr.write(progressLine(p) + '\n') }
  }
  const result = await crawl({
    seeds: splitList(flags.seeds),
    maxNodes: intFlag(flags, 'max_nodes', 1000),
    concurrency: intFlag(flags, 'concurrency', 16),
    timeout,
    onProgress,
    ...(typeof flags.chain_id === 'string' ? { chainId: flags.chain_id } : {})
  })
  process.stderr.write((tty ? '\r\x1b[2K' : '') + progressLine(result.counts) + '\n')
  await fs.mkdir(out, { recursive: true })
  await writeFileAtomic(join(out, 'network.json'), JSON.stringify(result, null, 2) + '\n')
  await writeFileAtomic(join(out, 'report.html'), renderReport(result))
  console.log(`wrote ${join(out, 'network.json')} and ${join(out, 'report.html')}`)
  return EXIT.ok
}
