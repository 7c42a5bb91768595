/** The `crawl` command: options, progress on the terminal, and the two output files. */
import { promises as fs } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { writeFileAtomic } from '@switchyard/p2p'
import { UsageError } from './cli-args.js'
import { parseDuration, splitList, type Overrides } from './config.js'
import { crawl, type CrawlProgress } from './crawl.js'
import { renderReport } from './report.js'
import { EXIT, ExitError } from './seed.js'
import { addressProblem } from './validate.js'

const usage = (message: string): UsageError => new UsageError(`switchyard crawl: ${message}`, 'crawl')

function intFlag (flags: Overrides, name: string, dflt: number, max: number): number {
  const v = flags[name]
  if (v === undefined) return dflt
  if (typeof v !== 'string' || !/^\d+$/.test(v) || Number(v) < 1 || Number(v) > max) throw usage(`--${name.replace(/_/g, '-')} needs an integer from 1 to ${max}, got ${JSON.stringify(v)}`)
  return Number(v)
}

/** procfs and sysfs: writing there is never a crawl's output (and may hang or hit the kernel). */
const PSEUDO_FS = new Set([0x9fa0, 0x62656572, 0x1cd1, 0x64626720])

/**
 * Makes sure the results can be written before spending minutes crawling: the folder exists (or is
 * created), is a directory on a real file system, and accepts a file.
 */
export async function checkOutDir (out: string): Promise<void> {
  const fail = (why: string): never => { throw new ExitError(EXIT.usage, `crawl: --out ${out}: ${why}`) }
  // The nearest folder that exists decides: Node's recursive mkdir loops forever under /proc.
  const missing: string[] = []
  let at = out
  for (;;) {
    const st = await fs.stat(at).catch((err: NodeJS.ErrnoException) => err.code === 'ENOENT' ? undefined : fail(`cannot use it (${err.code ?? err.message})`))
    if (st !== undefined) {
      if (!st.isDirectory()) fail(at === out ? 'exists and is not a directory' : `${at} is not a directory`)
      break
    }
    missing.unshift(at)
    if (dirname(at) === at) fail('no part of the path exists')
    at = dirname(at)
  }
  const sfs = await fs.statfs(at).catch(() => undefined)
  if (sfs !== undefined && PSEUDO_FS.has(Number(sfs.type))) fail('is on a kernel pseudo file system (/proc, /sys), not a place for files')
  for (const dir of missing) await fs.mkdir(dir).catch((err: NodeJS.ErrnoException) => err.code === 'EEXIST' ? undefined : fail(`cannot create it (${err.code ?? err.message})`))
  const probe = join(out, `.switchyard-write-test-${process.pid}`)
  await fs.writeFile(probe, '', { flag: 'wx' }).catch((err: NodeJS.ErrnoException) => fail(`is not writable (${err.code ?? err.message})`))
  await fs.rm(probe, { force: true })
}

function progressLine (p: CrawlProgress): string {
  const reasons = Object.entries(p.byReason).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([r, n]) => `${r} ${n}`).join(', ')
  return `found ${p.found} · probed ${p.probed} · reachable ${p.reachable} · failed ${p.failed}${reasons !== '' ? ` (${reasons})` : ''}`
}

export async function runCrawl (flags: Overrides): Promise<number> {
  if (typeof flags.seeds !== 'string' || splitList(flags.seeds).length === 0) throw usage('--seeds id@host:port[,…] is required')
  const seeds = splitList(flags.seeds)
  for (const s of seeds) {
    const why = addressProblem(s, true)
    if (why !== undefined) throw usage(`--seeds: ${JSON.stringify(s)} is not id@host:port (${why})`)
  }
  let timeout = 5000
  if (typeof flags.timeout === 'string') {
    try { timeout = parseDuration(flags.timeout) } catch (err) { throw usage(`--timeout: ${(err as Error).message}`) }
    if (!(timeout > 0 && timeout <= 3_600_000)) throw usage(`--timeout must be more than 0 and at most 1h, got ${flags.timeout}`)
  }
  const maxNodes = intFlag(flags, 'max_nodes', 1000, 1_000_000)
  const concurrency = intFlag(flags, 'concurrency', 16, 1024)
  const out = resolve(typeof flags.out === 'string' ? flags.out : 'crawl')
  await checkOutDir(out)
  const tty = process.stderr.isTTY
  let lastPlain = 0
  const onProgress = (p: CrawlProgress): void => {
    if (tty) process.stderr.write(`\r\x1b[2K${progressLine(p)}`)
    else if (Date.now() - lastPlain > 1000) { lastPlain = Date.now(); process.stderr.write(progressLine(p) + '\n') }
  }
  const result = await crawl({
    seeds,
    maxNodes,
    concurrency,
    timeout,
    onProgress,
    ...(typeof flags.chain_id === 'string' ? { chainId: flags.chain_id } : {})
  })
  process.stderr.write((tty ? '\r\x1b[2K' : '') + progressLine(result.counts) + '\n')
  for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`)
  await writeFileAtomic(join(out, 'network.json'), JSON.stringify(result, null, 2) + '\n')
  await writeFileAtomic(join(out, 'report.html'), renderReport(result))
  console.log(`wrote ${join(out, 'network.json')} and ${join(out, 'report.html')}`)
  return EXIT.ok
}
