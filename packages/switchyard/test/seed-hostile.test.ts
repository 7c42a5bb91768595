/**
 * The seed daemon under hostile peers and clumsy operators (issue 13): a wrong addr_book_file is
 * refused untouched, a read-only home is found at start, a failed save is an ERROR with no temp
 * file left, a second signal still saves the book, refusal floods are a few lines, and a DNS
 * lookup that never answers is abandoned on stop.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { AddrBook } from '@switchyard/pex'
import { HostilePeer, waitFor } from '@switchyard/testing'
import { createLogger, defaultConfig, init, runSeed, type RunningSeed } from '@switchyard/cli'
import { collectLines } from './child-lines.js'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const cli = `${root}packages/switchyard/dist/cli.js`
const isRoot = process.getuid?.() === 0

class Run {
  readonly out: string[] = []
  readonly err: string[] = []
  readonly proc: ChildProcess
  readonly exit: Promise<number | null>
  /** `wrap`: shell commands (ulimit, mount) run before exec'ing node, by `shell` (sh, or sh in a new mount namespace). */
  constructor (args: string[], wrap?: string, shell: string[] = ['sh']) {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'CMTHOME'))
    this.proc = wrap === undefined
      ? spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env })
      : spawn(shell[0]!, [...shell.slice(1), '-c', `${wrap} exec "$0" "$@"`, process.execPath, cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env })
    collectLines(this.proc.stdout!, this.out)
    collectLines(this.proc.stderr!, this.err)
    this.exit = new Promise(resolve => this.proc.once('exit', code => resolve(code)))
  }

  async address (): Promise<string> {
    await waitFor(() => this.out.some(l => l.startsWith('address: ')), { timeoutMs: 10_000, what: `the address (stderr: ${JSON.stringify(this.err.slice(-5))})` })
    return this.out.find(l => l.startsWith('address: '))!.slice('address: '.length)
  }
}

const runs: Run[] = []
const cleanup: Array<() => unknown> = []
afterEach(async () => {
  for (const r of runs.splice(0)) if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill('SIGKILL')
  for (const f of cleanup.splice(0).reverse()) await f()
})

function start (args: string[], wrap?: string, shell?: string[]): Run {
  const r = new Run(args, wrap, shell)
  runs.push(r)
  return r
}

async function home (): Promise<string> {
  const h = mkdtempSync(join(tmpdir(), 'swy-hostile-'))
  await init({ home: h, laddr: 'tcp://127.0.0.1:0', strict: false })
  return h
}

/** Every file in a folder with its bytes, for "nothing was touched" checks. */
function snapshot (dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).sort().map(n => {
    const p = join(dir, n)
    const st = statSync(p, { throwIfNoEntry: false })
    return [n, st?.isFile() === true ? readFileSync(p, 'hex') : 'not a file']
  }))
}

async function freePort (): Promise<number> {
  const s = net.createServer()
  await new Promise<void>(resolve => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as net.AddressInfo).port
  await new Promise(resolve => s.close(resolve))
  return port
}

const fakeId = (i: number): string => i.toString(16).padStart(40, 'a')

describe('seed: addr_book_file safety', () => {
  beforeAll(() => {
    execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-b', `${root}packages/switchyard`], { stdio: 'inherit' })
  }, 120_000)

  const notBooks: Array<[string, (h: string) => string, RegExp]> = [
    ['the node key', h => join(h, 'config', 'node_key.json'), /without both "key" and "addrs"/],
    ['genesis.json', h => join(h, 'config', 'genesis.json'), /without both "key" and "addrs"/],
    ['config.toml (not JSON)', h => join(h, 'config', 'config.toml'), /is not JSON/],
    ['an addrbook.json holding {}', h => { writeFileSync(join(h, 'config', 'addrbook.json'), '{}'); return join(h, 'config', 'addrbook.json') }, /without both "key" and "addrs"/],
    ['a FIFO', h => { execFileSync('mkfifo', [join(h, 'fifo')]); return join(h, 'fifo') }, /is a FIFO/],
    ['a symbolic link to the node key', h => { symlinkSync(join(h, 'config', 'node_key.json'), join(h, 'link.json')); return join(h, 'link.json') }, /is a symbolic link/]
  ]
  for (const [what, target, why] of notBooks) {
    it(`refuses ${what} as addr_book_file with exit 6 and leaves every file as it was`, async () => {
      const h = await home()
      const path = target(h)
      const before = [snapshot(h), snapshot(join(h, 'config'))]
      const r = start(['seed', '--home', h, '--p2p.addr_book_file', path])
      // If it were accepted the seed would run: stop it as an operator would, which saves the book.
      const timer = setTimeout(() => r.proc.kill('SIGTERM'), 3000)
      cleanup.push(() => clearTimeout(timer))
      expect(await r.exit).toBe(6)
      expect(r.err).toHaveLength(1)
      expect(r.err[0]).toMatch(why)
      expect(r.err[0]).toMatch(/not an address book and is left untouched/)
      expect([snapshot(h), snapshot(join(h, 'config'))]).toEqual(before)
    }, 20_000)
  }

  it('exits 6 at start, before any peer, when the book\'s folder is read-only', async () => {
    const h = await home()
    const config = join(h, 'config')
    // root writes through mode bits: a read-only bind mount in a private mount namespace instead.
    if (!isRoot) { chmodSync(config, 0o555); cleanup.push(() => chmodSync(config, 0o755)) }
    const r = isRoot
      ? start(['seed', '--home', h], `mount --bind -o ro '${config}' '${config}' &&`, ['unshare', '-m', 'sh'])
      : start(['seed', '--home', h])
    expect(await r.exit).toBe(6)
    expect(r.err.join('\n')).toMatch(/addrbook\.json: cannot be saved: its folder is not writable \((EROFS|EACCES)\)/)
    expect(r.out.some(l => l.startsWith('address: '))).toBe(false)
  }, 20_000)

  it('a save that fails (file size limit: EFBIG) is logged at ERROR, keeps the previous book and leaves no temp file', async () => {
    const h = await home()
    const bookPath = join(h, 'config', 'addrbook.json')
    const small = new AddrBook({ filePath: bookPath, strict: false })
    await small.save()
    const before = readFileSync(bookPath, 'utf8')
    const peers = Array.from({ length: 60 }, (_, i) => `${fakeId(i)}@127.0.${80 + (i >> 4)}.${(i & 15) + 1}:26656`).join(',')
    // ulimit -f 4: files may not grow past 4 KiB; the 60-address book is ~18 KiB.
    const r = start(['seed', '--home', h, '--p2p.bootstrap_peers', peers, '--p2p.laddr', 'tcp://127.0.75.1:0'], 'ulimit -f 4;')
    await r.address()
    r.proc.kill('SIGTERM')
    expect(await r.exit).toBe(1)
    expect(r.err.some(l => / ERROR /.test(l) && /EFBIG|too large/i.test(l))).toBe(true)
    expect(readdirSync(join(h, 'config')).filter(n => n.endsWith('.tmp'))).toEqual([])
    expect(readFileSync(bookPath, 'utf8')).toBe(before)
  }, 20_000)

  it('AddrBook: a periodic save that fails is a "save-failed" event; a path that became a FIFO is left as it is', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swy-hostile-'))
    const path = join(dir, 'addrbook.json')
    // Something replaced the book with a FIFO after it was loaded.
    execFileSync('mkfifo', [path])
    const book = new AddrBook({ filePath: path, strict: false, saveInterval: 20 })
    const failures: Error[] = []
    book.on('save-failed', e => failures.push(e))
    book.start()
    cleanup.push(() => clearInterval((book as unknown as { timer: NodeJS.Timeout }).timer))
    await waitFor(() => failures.length >= 2, { what: 'two save-failed events' })
    expect(failures[0]).toMatchObject({ code: 'ERR_NOT_AN_ADDRBOOK' })
    expect(statSync(path).isFIFO()).toBe(true)
    expect(readdirSync(dir)).toEqual(['addrbook.json'])
  })
})

describe('seed: signals, floods and DNS', () => {
  it('a second SIGTERM during a slow shutdown still leaves the book saved', async () => {
    const h = await home()
    const peers = Array.from({ length: 5 }, (_, i) => `${fakeId(i)}@127.0.90.${i + 1}:26656`).join(',')
    const r = start(['seed', '--home', h, '--p2p.bootstrap_peers', peers, '--p2p.laddr', 'tcp://127.0.76.1:0', '--chain-id', 'sig-chain'])
    const address = await r.address()
    // A peer that stops reading: the seed's graceful close of it waits its full 2 s.
    const hp = await HostilePeer.connect('127.0.76.1', Number(address.split(':').pop()), { localAddress: '127.0.76.2' })
    cleanup.push(() => hp.destroy())
    await hp.handshake({ network: 'sig-chain', channels: [0x00] })
    await waitFor(() => r.err.some(l => /peer connected/.test(l)), { what: 'the peer connected' })
    hp.socket.pause()
    r.proc.kill('SIGTERM')
    await waitFor(() => r.err.some(l => /stopping: closing connections/.test(l)), { what: 'the first stop begun' })
    r.proc.kill('SIGTERM')
    expect(await r.exit).toBe(143)
    const book = await AddrBook.load(join(h, 'config', 'addrbook.json'))
    for (let i = 0; i < 5; i++) expect(book.has(fakeId(i))).toBe(true)
  }, 20_000)

  it('a flood of refused connections is a few log lines and one summary; a 9,000-character moniker is cut in the log', async () => {
    const h = await home()
    const mport = await freePort()
    const r = start(['seed', '--home', h, '--p2p.laddr', 'tcp://127.0.77.1:0', '--p2p.max_pending_handshakes_per_ip', '1', '--chain-id', 'flood-chain', '--metrics.laddr', `127.0.0.1:${mport}`])
    const port = Number((await r.address()).split(':').pop())
    const socks: HostilePeer[] = []
    for (let i = 0; i < 40; i++) socks.push(await HostilePeer.connect('127.0.77.1', port, { localAddress: '127.0.77.2' }))
    cleanup.push(() => { for (const s of socks) s.destroy() })
    await waitFor(() => socks.filter(s => s.isClosed).length >= 39, { what: '39 connections refused' })
    const metrics = await (await fetch(`http://127.0.0.1:${mport}/metrics`)).text()
    expect(metrics).toMatch(/^switchyard_p2p_handshake_refusals_total\{reason="per_ip"\} 39$/m)
    expect(metrics).toMatch(/^switchyard_p2p_handshake_refusals_total\{reason="full"\} 0$/m)
    const chatty = await HostilePeer.connect('127.0.77.1', port, { localAddress: '127.0.77.3' })
    cleanup.push(() => chatty.destroy())
    await chatty.handshake({ network: 'flood-chain', channels: [0x00], nodeInfo: { moniker: 'm'.repeat(9000) } })
    await waitFor(() => r.err.some(l => /peer connected/.test(l)), { what: 'the long-moniker peer connected' })
    r.proc.kill('SIGTERM')
    expect(await r.exit).toBe(0)
    const refusedLines = r.err.filter(l => /connection refused before its handshake/.test(l))
    expect(refusedLines.length).toBeLessThanOrEqual(5)
    const summary = r.err.find(l => /more connections refused in the last 10 s/.test(l))
    expect(summary).toMatch(/^.*INFO  (\d+) more connections refused/)
    expect(refusedLines.length + Number(/INFO {2}(\d+) more/.exec(summary!)![1])).toBe(39)
    const connected = r.err.find(l => /peer connected/.test(l))!
    expect(connected.length).toBeLessThan(400)
    expect(connected).toMatch(/moniker=.*m{64}…\(9000 chars\)/)
  }, 30_000)

  it('a DNS lookup that never answers (a peer\'s listen_addr name) is abandoned when the seed stops', async () => {
    const h = await home()
    const cfg = defaultConfig(h)
    cfg.chainId = 'dns-chain'
    cfg.p2p.laddr = 'tcp://127.0.78.1:0'
    cfg.p2p.addrBookStrict = false
    const lookups: Array<{ host: string, signal: AbortSignal }> = []
    const blackHole = async (host: string, signal: AbortSignal): Promise<never> => { lookups.push({ host, signal }); return await new Promise<never>(() => {}) }
    const lines: string[] = []
    const seed: RunningSeed = await runSeed(cfg, createLogger('plain', 'info', l => lines.push(l)), { resolveHost: blackHole })
    let stopped = false
    cleanup.push(async () => { if (!stopped) await seed.stop() })
    const hp = await HostilePeer.connect('127.0.78.1', Number(seed.address.split(':').pop()), { localAddress: '127.0.78.2' })
    cleanup.push(() => hp.destroy())
    await hp.handshake({ network: 'dns-chain', channels: [0x00], nodeInfo: { listenAddr: 'tcp://seed.black-hole.test:26656' } })
    await waitFor(() => lookups.length === 1, { what: 'the lookup of the peer\'s listen_addr name' })
    expect(lookups[0]!.host).toBe('seed.black-hole.test')
    expect(seed.sw.transport.pendingHandshakes).toBe(1)
    await seed.stop()
    stopped = true
    expect(lookups[0]!.signal.aborted).toBe(true)
    expect(seed.sw.transport.pendingHandshakes).toBe(0)
    expect(lines.some(l => /INFO {2}stopped/.test(l))).toBe(true)
  })
})
