/**
 * Runs interop/cometbft-peer (CometBFT's own p2p code) as a child process and lets tests wait on
 * the JSON events it prints. Builds it with Go when the binary is missing.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const peerDir = fileURLToPath(new URL('../cometbft-peer/', import.meta.url))

/** The CometBFT release lines we test against: one source, one module file per line (build.sh). */
export const lines = [
  { line: 'v0.34', binary: join(peerDir, 'bin', 'cometbft-peer-v034'), modfile: 'go.v034.mod', p2pVersion: 8 },
  { line: 'v0.37', binary: join(peerDir, 'bin', 'cometbft-peer-v037'), modfile: 'go.v037.mod', p2pVersion: 8 },
  { line: 'v0.38', binary: join(peerDir, 'bin', 'cometbft-peer'), modfile: 'go.mod', p2pVersion: 8 },
  { line: 'v0.40', binary: join(peerDir, 'bin', 'cometbft-peer-v040'), modfile: 'go.v040.mod', p2pVersion: 8 },
  { line: 'v1.0', binary: join(peerDir, 'bin', 'cometbft-peer-v1'), modfile: 'go.v1.mod', p2pVersion: 9 }
] as const
export type Line = typeof lines[number]

export function goAvailable (): boolean {
  return spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0
}

/** Why the interop suite cannot run here, or undefined when it can. In CI a missing Go is an error. */
export function interopUnavailable (): string | undefined {
  if (lines.every(l => existsSync(l.binary)) || goAvailable()) return undefined
  if (process.env.CI === 'true') throw new Error('CI=true but Go is not installed: the CometBFT interop suite must run in CI')
  return 'Go is not installed: skipping the CometBFT interop suite (install Go ≥ 1.22 to run it)'
}

export function buildPeer (line: Line): void {
  if (existsSync(line.binary)) return
  execFileSync('bash', [join(peerDir, 'build.sh'), line.line], { cwd: peerDir, stdio: 'inherit' })
}

export interface GoEvent { event: string, [k: string]: any }

export class GoPeer {
  readonly events: GoEvent[] = []
  readonly home: string
  private readonly proc: ChildProcess
  private readonly waiters: Array<{ pred: (e: GoEvent) => boolean, resolve: (e: GoEvent) => void }> = []
  private buffered = ''
  exited: Promise<number | null>

  constructor (line: Line, args: string[], home = mkdtempSync(join(tmpdir(), 'cmtpeer-'))) {
    this.home = home
    this.proc = spawn(line.binary, ['-node-key', join(home, 'node_key.json'), '-addrbook', join(home, 'addrbook.json'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
    this.exited = new Promise(resolve => this.proc.once('exit', code => resolve(code)))
    this.proc.stdout!.setEncoding('utf8')
    this.proc.stdout!.on('data', (text: string) => {
      this.buffered += text
      let nl: number
      while ((nl = this.buffered.indexOf('\n')) >= 0) {
        const line = this.buffered.slice(0, nl)
        this.buffered = this.buffered.slice(nl + 1)
        let e: GoEvent
        try { e = JSON.parse(line) } catch { continue }
        this.events.push(e)
        for (const w of [...this.waiters]) {
          if (w.pred(e)) { this.waiters.splice(this.waiters.indexOf(w), 1); w.resolve(e) }
        }
      }
    })
  }

  /** The first event (already seen or still to come) that satisfies `pred`. */
  async waitFor (pred: (e: GoEvent) => boolean, timeoutMs = 10_000, what = 'event'): Promise<GoEvent> {
    const seen = this.events.find(pred)
    if (seen !== undefined) return seen
    return await new Promise<GoEvent>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.findIndex(w => w.resolve === done), 1)
        reject(new Error(`timed out after ${timeoutMs} ms waiting for Go peer ${what}; last events: ${JSON.stringify(this.events.slice(-5))}`))
      }, timeoutMs)
      const done = (e: GoEvent): void => { clearTimeout(timer); resolve(e) }
      this.waiters.push({ pred, resolve: done })
    })
  }

  async listening (): Promise<{ id: string, addr: string, port: number }> {
    const e = await this.waitFor(x => x.event === 'listening' || x.event === 'fatal', 20_000, 'listening')
    if (e.event === 'fatal') throw new Error(`Go peer failed: ${e.error}`)
    return { id: e.id, addr: e.addr, port: Number(String(e.addr).split(':').pop()) }
  }

  async stop (): Promise<void> {
    if (this.proc.exitCode !== null) return
    this.proc.kill('SIGTERM')
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000)
    await this.exited
    clearTimeout(timer)
  }
}
