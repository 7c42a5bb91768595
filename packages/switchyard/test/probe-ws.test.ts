import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { execFile, execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { NetAddress, NodeKey, Switch } from '@switchyard/p2p'
import { AddrBook, PexReactor } from '@switchyard/pex'
import { webSocketTransport } from '@switchyard/transport-ws'
import { probe, PROBE_EXIT } from '@switchyard/cli'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const cli = `${root}packages/switchyard/dist/cli.js`
const cleanup: Array<() => Promise<void>> = []
afterEach(async () => { for (const c of cleanup.splice(0)) await c() })

/** A node listening on TCP and WebSocket; `allow` turns the /ws allow-list on. */
async function wsNode (allow?: (id: string) => boolean): Promise<{ sw: Switch, wsAddress: string }> {
  const book = new AddrBook({ strict: false })
  for (let i = 0; i < 3; i++) {
    const a = new NetAddress(`${'b'.repeat(39)}${i}`, `10.0.1.${i + 1}`, 26656)
    book.addAddress(a, a)
  }
  const sw = new Switch({ nodeKey: NodeKey.generate(), network: 'probe-chain', moniker: 'ws-node', listenAddress: 'tcp://127.0.0.1:0', addressBook: book })
  sw.addReactor('pex', new PexReactor({ book, ensurePeersPeriod: 60_000, startJitter: false }))
  const ws = webSocketTransport(sw, { listen: 'ws://127.0.0.1:0', ...(allow !== undefined ? { allow } : {}) })
  await sw.start()
  const wsAddress = (await ws.listen())!
  cleanup.push(async () => { await sw.stop() })
  return { sw, wsAddress }
}

describe('switchyard probe ws://', () => {
  beforeAll(() => {
    execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-b', `${root}packages/switchyard`], { stdio: 'inherit' })
  }, 120_000)

  it('probes a node over WebSocket: NodeInfo, ping and addresses, from the library and the CLI', async () => {
    const { sw, wsAddress } = await wsNode()
    const r = await probe(wsAddress, { chainId: 'probe-chain', pex: true })
    expect(r).toMatchObject({ ok: true, exitCode: 0, peerId: sw.nodeKey.id, nodeInfo: { moniker: 'ws-node' } })
    expect(r.addrs).toHaveLength(3)
    expect(r.message).toMatch(/^[0-9a-f]{40} at ws:\/\/127\.0\.0\.1:\d+: "ws-node"/)
    const out = await new Promise<{ code: number, stdout: string }>(resolve => {
      execFile(process.execPath, [cli, 'probe', wsAddress, '--json'], { encoding: 'utf8' }, (err, stdout) => { resolve({ code: err === null ? 0 : Number((err as { code?: number }).code), stdout }) })
    })
    expect(out.code).toBe(0)
    expect(JSON.parse(out.stdout)).toMatchObject({ ok: true, peerId: sw.nodeKey.id })
  })

  it('says the upgrade was refused (403, allow-list) with the refused exit code', async () => {
    const { wsAddress } = await wsNode(() => false)
    const r = await probe(wsAddress, { timeout: 3000 })
    expect(r).toMatchObject({ ok: false, exitCode: PROBE_EXIT.refused, reason: 'upgrade-refused' })
    expect(r.message).toMatch(/HTTP 403 \(our PeerID is not on its allow-list\)/)
  })

  it('a wrong node ID in a ws:// address is an ID mismatch', async () => {
    const { sw, wsAddress } = await wsNode()
    const other = NodeKey.generate().id
    const r = await probe(wsAddress.replace(sw.nodeKey.id, other), { timeout: 3000 })
    expect(r).toMatchObject({ ok: false, exitCode: PROBE_EXIT.idMismatch, peerId: sw.nodeKey.id })
  })
})
