/**
 * The browser node's encrypted throughput and RTT to a Node node over loopback WebSocket:
 *   node bench/dist/browser.js [--runs 3] [--quick] [--no-pacing] [--out bench/results]
 * Each round, interleaved: (1) a Node sender (node:crypto / native AEAD, `ws`) and (2) a Switchyard
 * node in headless Chromium (@noble crypto, the browser's WebSocket) each dial a fresh receiver
 * child process over ws://127.0.0.1, send `total` bytes in 64 KiB messages that the receiver
 * verifies byte for byte, then time 100-byte echoes. Prints JSON lines, medians and the
 * browser ÷ Node ratios of each round; writes bench/results/<date>-<commit>-browser.json.
 */
import { execSync, fork, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { NodeKey, Switch } from '@switchyard/p2p'
import { webSocketTransport } from '@switchyard/transport-ws'
import { createAead, defaultAead } from '@switchyard/conn'
import { BenchSender, aeadWallMBs, patternBytes, type BrowserBenchJob, type BrowserBenchResult } from './browser-protocol.js'
import { median } from './measures.js'
import { PATTERN_PERIOD } from './pattern.js'

const args = process.argv.slice(2)
const arg = (name: string, dflt: string): string => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] ?? dflt : dflt }
const RUNS = Number(arg('--runs', '3'))
const QUICK = args.includes('--quick')
const OUT = arg('--out', fileURLToPath(new URL('../results/', import.meta.url)))
const here = fileURLToPath(new URL('.', import.meta.url))
const root = fileURLToPath(new URL('../../', import.meta.url))
const MiB = 1024 * 1024
const job: BrowserBenchJob = { size: 64 * 1024, total: (QUICK ? 8 : 32) * MiB, seed: 19, rtts: QUICK ? 300 : 1000, warmup: 50, pacing: !args.includes('--no-pacing') }

async function receiver (): Promise<{ child: ChildProcess, join: string }> {
  const child = fork(join(here, 'browser-receiver.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const addr = await new Promise<string>((resolve, reject) => {
    child.once('message', (m: { join: string }) => { resolve(m.join) })
    child.once('exit', code => { reject(new Error(`receiver exited with ${code}`)) })
    child.send(job)
  })
  return { child, join: addr }
}

async function nodeSender (target: string): Promise<BrowserBenchResult> {
  const sender = new BenchSender()
  const sw = new Switch({ nodeKey: NodeKey.generate(), network: 'switchyard-bench', dialJitter: 0, allowDuplicateIp: true, connection: { pacing: job.pacing } })
  sw.addReactor('bench', sender)
  webSocketTransport(sw)
  await sw.start()
  try {
    await sw.dial(target)
    return await sender.run(job, patternBytes(job.size, job.seed, PATTERN_PERIOD))
  } finally {
    await sw.stop()
  }
}

async function main (): Promise<void> {
  const chromiumPath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(p => existsSync(p))
  if (chromiumPath === undefined) throw new Error('no Chromium at /usr/bin/chromium (apt-get install chromium)')
  const { bundle } = await import(join(root, 'packages/browser/scripts/bundle.mjs')) as { bundle: (o: { entry: string, outfile: string }) => Promise<{ gzipBytes: number }> }
  const outfile = join(here, 'browser-page.bundle.js')
  await bundle({ entry: join(here, 'browser-page.js'), outfile })
  const code = readFileSync(outfile)
  const server = http.createServer((req, res) => {
    if (req.url === '/page.js') { res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(code); return }
    res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><script type="module" src="/page.js"></script>')
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`
  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox'] })
  const page = await browser.newPage()
  await page.goto(url)
  await page.waitForFunction(() => 'runBench' in globalThis)

  const records: Array<{ kind: 'node' | 'browser', round: number } & BrowserBenchResult> = []
  const aead: Array<{ side: 'node' | 'browser', round: number, name: string, sealMBs: number, openMBs: number }> = []
  const AEAD_MB = QUICK ? 8 : 32
  try {
    for (let round = 0; round < RUNS; round++) {
      // The cipher ceiling on each side, in the same round (one core, wall time).
      for (const side of ['node', 'browser'] as const) {
        const r = side === 'node'
          ? { name: defaultAead as string, ...aeadWallMBs(createAead as never, AEAD_MB) }
          : await page.evaluate(async mb => (globalThis as unknown as { aeadBench: (mb: number) => { name: string, sealMBs: number, openMBs: number } }).aeadBench(mb), AEAD_MB)
        const rec = { side, round, ...r }
        aead.push(rec)
        console.log(JSON.stringify({ aead: rec }))
      }
      for (const kind of ['node', 'browser'] as const) {
        const r = await receiver()
        try {
          const result = kind === 'node'
            ? await nodeSender(r.join)
            : await page.evaluate(async ([j, b, p]) => await (globalThis as unknown as { runBench: (j: string, b: unknown, p: number) => Promise<BrowserBenchResult> }).runBench(j, b, p), [r.join, job, PATTERN_PERIOD] as const)
          if (result.mismatches !== 0 || result.received < job.total) throw new Error(`${kind}: the receiver verified ${result.received} bytes with ${result.mismatches} mismatches`)
          const rec = { kind, round, ...result }
          records.push(rec)
          console.log(JSON.stringify(rec))
        } finally {
          r.child.disconnect()
        }
      }
    }
  } finally {
    await browser.close()
    server.close()
  }
  const of = (kind: string, f: (r: BrowserBenchResult) => number): number => median(records.filter(r => r.kind === kind).map(f))
  const ratio = (f: (r: BrowserBenchResult) => number): number => median([...Array(RUNS).keys()].map(round => {
    const b = records.find(r => r.kind === 'browser' && r.round === round)!
    const n = records.find(r => r.kind === 'node' && r.round === round)!
    return f(b) / f(n)
  }))
  const summary = {
    job, runs: RUNS,
    node: { bulkMBps: of('node', r => r.bulkMBps), rttP50Us: of('node', r => r.rttP50Us), rttP99Us: of('node', r => r.rttP99Us) },
    browser: { bulkMBps: of('browser', r => r.bulkMBps), rttP50Us: of('browser', r => r.rttP50Us), rttP99Us: of('browser', r => r.rttP99Us) },
    browserOverNode: { bulk: ratio(r => r.bulkMBps), rttP50: ratio(r => r.rttP50Us) },
    aead: Object.fromEntries((['node', 'browser'] as const).map(side => [side, {
      name: aead.find(a => a.side === side)?.name,
      sealMBs: median(aead.filter(a => a.side === side).map(a => a.sealMBs)),
      openMBs: median(aead.filter(a => a.side === side).map(a => a.openMBs))
    }])),
    pageBundleBytes: code.length
  }
  console.log(JSON.stringify({ summary }))
  let commit = 'unknown'
  try { commit = execSync('git rev-parse --short HEAD', { cwd: root }).toString().trim() } catch { /* not a checkout */ }
  const date = new Date().toISOString()
  mkdirSync(OUT, { recursive: true })
  const file = join(OUT, `${date.replace(/[:.]/g, '-')}-${commit}-browser.json`)
  writeFileSync(file, JSON.stringify({ date, commit, node: process.version, chromium: browser.version(), cpus: os.cpus().length, loadavg: os.loadavg(), records, aead, summary }, null, 2) + '\n')
  console.log(`results: ${file}`)
}

main().catch(err => { console.error(`browser bench: ${(err as Error).message}`); process.exitCode = 1 })
