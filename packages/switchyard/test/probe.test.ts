import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { execFile, execFileSync, spawn } from 'node:child_process'
import http from 'node:http'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { NetAddress, NodeKey, Switch } from '@switchyard/p2p'
import { AddrBook, PexReactor } from '@switchyard/pex'
import { probe, PROBE_EXIT } from '@switchyard/cli'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const cli = `${root}packages/switchyard/dist/cli.js`
const cleanup: Array<() => Promise<void> | void> = []
afterEach(async () => { for (const c of cleanup.splice(0)) await c() })

async function liveNode (network = 'probe-chain'): Promise<{ sw: Switch, book: AddrBook }> {
  const book = new AddrBook({ strict: false })
  for (let i = 0; i < 5; i++) book.addAddress(NetAddressOf(i), NetAddressOf(i))
  const sw = new Switch({ nodeKey: NodeKey.generate(), network, moniker: 'live-node', listenAddress: 'tcp://127.0.80.1:0', addressBook: book })
  sw.addReactor('pex', new PexReactor({ book, ensurePeersPeriod: 60_000, startJitter: false }))
  await sw.start()
  cleanup.push(async () => { await sw.stop() })
  return { sw, book }
}

function NetAddressOf (i: number): NetAddress {
  return new NetAddress(`${'a'.repeat(39)}${i}`, `10.0.0.${i + 1}`, 26656)
}

/** Runs the CLI without blocking this process (the nodes it probes live here). */
async function runCli (args: string[]): Promise<{ status: number | null, stdout: string, stderr: string }> {
  return await new Promise(resolve => {
    execFile(process.execPath, [cli, ...args], { encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ status: err === null ? 0 : (err as { code?: number }).code ?? null, stdout, stderr })
    })
  })
}

async function server (onConnection: (s: net.Socket) => void): Promise<number> {
  const srv = net.createServer(onConnection)
  await new Promise<void>(resolve => srv.listen(0, '127.0.80.2', resolve))
  cleanup.push(() => { srv.close() })
  return (srv.address() as net.AddressInfo).port
}

describe('switchyard probe', () => {
  beforeAll(() => {
    execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-b', `${root}packages/switchyard`], { stdio: 'inherit' })
  }, 120_000)

  it('describes a live node: NodeInfo, handshake and ping times, and the addresses it gives', async () => {
    const { sw } = await liveNode()
    const r = await probe(sw.address, { chainId: 'probe-chain', pex: true })
    expect(r).toMatchObject({ ok: true, exitCode: 0, peerId: sw.nodeKey.id, nodeInfo: { moniker: 'live-node', network: 'probe-chain' } })
    expect(r.pingMs).toBeGreaterThan(0)
    expect(r.addrs).toHaveLength(5)
    expect(r.message).toMatch(/"live-node", version .*network probe-chain.*ping .* ms; gave 5 addresses/)
    // The CLI prints the same, as JSON on request, exit 0.
    const out = await runCli(['probe', sw.address, '--chain-id', 'probe-chain', '--json'])
    expect(out.status).toBe(0)
    expect(JSON.parse(out.stdout)).toMatchObject({ ok: true, peerId: sw.nodeKey.id, nodeInfo: { moniker: 'live-node' } })
  })

  it('without --chain-id still reports what the node is', async () => {
    const { sw } = await liveNode()
    const r = await probe(sw.address)
    expect(r).toMatchObject({ ok: true, nodeInfo: { network: 'probe-chain' } })
  })

  it('a closed port: connection refused, exit 10', async () => {
    // A port that was just free: nothing listens there now.
    const srv = net.createServer()
    await new Promise<void>(resolve => srv.listen(0, '127.0.80.2', resolve))
    const port = (srv.address() as net.AddressInfo).port
    await new Promise(resolve => srv.close(resolve))
    const id = NodeKey.generate().id
    const r = await probe(`${id}@127.0.80.2:${port}`)
    expect(r).toMatchObject({ ok: false, reason: 'refused', exitCode: PROBE_EXIT.refused })
    const out = await runCli(['probe', `${id}@127.0.80.2:${port}`])
    expect(out.status).toBe(10)
    expect(out.stderr.trim().split('\n')).toEqual([`switchyard probe: connection refused by 127.0.80.2:${port}: nothing listens on that port (or a firewall rejects it)`])
  })

  it('a node on another chain: wrong network with both values, exit 16', async () => {
    const { sw } = await liveNode('their-chain')
    const r = await probe(sw.address, { chainId: 'my-chain' })
    expect(r).toMatchObject({ ok: false, reason: 'wrong-network', exitCode: PROBE_EXIT.wrongNetwork })
    expect(r.message).toMatch(/on network "their-chain", not "my-chain"/)
  })

  it('a node that stalls the handshake: timed out in the key exchange, exit 13', async () => {
    const port = await server(s => { s.on('data', () => {}) }) // accepts TCP, never answers
    const r = await probe(`${NodeKey.generate().id}@127.0.80.2:${port}`, { timeout: 300 })
    expect(r).toMatchObject({ ok: false, reason: 'handshake-timeout', exitCode: PROBE_EXIT.handshakeTimeout })
    expect(r.message).toMatch(/timed out during the ephemeral key exchange/)
  })

  it('a node whose key does not match the given ID: both IDs named, exit 15', async () => {
    const { sw } = await liveNode()
    const wrong = NodeKey.generate().id
    const r = await probe(`${wrong}@${sw.address.split('@')[1]}`)
    expect(r).toMatchObject({ ok: false, reason: 'id-mismatch', exitCode: PROBE_EXIT.idMismatch })
    expect(r.message).toContain(sw.nodeKey.id)
    expect(r.message).toContain(wrong)
  })

  it('a listener whose accept queue is full: TCP timeout, exit 11', async () => {
    // A child process listens with a backlog of 1 and blocks its event loop, so it never accepts:
    // the kernel completes two connections into the queue, then drops SYNs, and connect() hangs.
    const child = spawn(process.execPath, ['-e', `
      const s = require('node:net').createServer()
      s.listen({ host: '127.0.80.3', port: 0, backlog: 1 }, () => {
        process.stdout.write(s.address().port + '\\n')
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)
      })`], { stdio: ['ignore', 'pipe', 'inherit'] })
    cleanup.push(() => { child.kill() })
    const port = await new Promise<number>(resolve => child.stdout.once('data', d => { resolve(Number(String(d).trim())) }))
    const fillers: net.Socket[] = []
    cleanup.push(() => { for (const f of fillers) f.destroy() })
    for (let i = 0; i < 2; i++) {
      const f = net.connect({ host: '127.0.80.3', port })
      fillers.push(f)
      await new Promise<void>((resolve, reject) => { f.once('connect', resolve); f.once('error', reject) })
    }
    const r = await probe(`${NodeKey.generate().id}@127.0.80.3:${port}`, { timeout: 300 })
    expect(r).toMatchObject({ ok: false, reason: 'tcp-timeout', exitCode: PROBE_EXIT.tcpTimeout })
    expect(r.message).toMatch(/timed out after 300 ms connecting to 127\.0\.80\.3:\d+ \(TCP\)/)
  })

  it('a usage error: exit 2', async () => {
    const out = await runCli(['probe'])
    expect(out.status).toBe(2)
    expect((await probe('not-an-address')).exitCode).toBe(PROBE_EXIT.usage)
  })

  it('an HTTP port (a node\'s RPC): says it answered in HTTP and points at the p2p port, exit 14', async () => {
    const srv = http.createServer((_req, res) => { res.end('ok') })
    await new Promise<void>(resolve => srv.listen(0, '127.0.80.2', resolve))
    cleanup.push(() => { srv.close() })
    const port = (srv.address() as net.AddressInfo).port
    const r = await probe(`${NodeKey.generate().id}@127.0.80.2:${port}`, { timeout: 2000 })
    expect(r).toMatchObject({ ok: false, reason: 'http-port', exitCode: PROBE_EXIT.handshakeFailed })
    expect(r.message).toBe(`127.0.80.2:${port} answered in HTTP, not the p2p handshake: this is an HTTP port such as CometBFT's RPC (26657); probe the p2p port (26656 by default, [p2p] laddr)`)
  })
})
