/**
 * The browser benchmark's page code (bundled by bench/src/browser.ts with @switchyard/browser's
 * bundler): a Switchyard node in the tab dials the receiver's ws:// address and runs BenchSender.
 */
import { NodeKey, Switch, browserWebSocketTransport } from '@switchyard/browser'
import { createAead } from '@switchyard/conn'
import { BenchSender, aeadWallMBs, patternBytes, type BrowserBenchJob, type BrowserBenchResult } from './browser-protocol.js'

async function runBench (join: string, job: BrowserBenchJob, period: number): Promise<BrowserBenchResult> {
  const sender = new BenchSender()
  const sw = new Switch({ nodeKey: NodeKey.generate(), network: 'switchyard-bench', dialJitter: 0, allowDuplicateIp: true, connection: { pacing: job.pacing } })
  sw.addReactor('bench', sender)
  browserWebSocketTransport(sw)
  await sw.start()
  try {
    await sw.dial(join)
    return await sender.run(job, patternBytes(job.size, job.seed, period))
  } finally {
    await sw.stop()
  }
}

;(globalThis as unknown as { runBench: typeof runBench }).runBench = runBench
// The page's AEAD (the bundle's aead.browser.js: @noble/ciphers), through the same batch API.
;(globalThis as unknown as { aeadBench: (mb: number) => { name: string, sealMBs: number, openMBs: number } }).aeadBench = mb => ({ name: createAead(new Uint8Array(32)).name, ...aeadWallMBs(createAead, mb) })
