import { describe, expect, it } from 'vitest'
import { decodeNodeInfo, LengthDelimitedDecoder, type NodeInfo } from '@switchyard/wire'
import { checkCompatible, makeNodeInfo, validateNodeInfo } from '@switchyard/p2p'
import { hex, readVector } from '../../../test/vectors.js'

const gen = readVector('cometbft/generated-v0.37.18.json')

function recorded (): NodeInfo {
  let body: Uint8Array | undefined
  new LengthDelimitedDecoder(10240).push(hex(gen.node_info.hex), b => { body = Uint8Array.from(b) })
  return decodeNodeInfo(body!)
}

function outcome (f: () => void): string {
  try { f(); return 'ok' } catch (err) { return (err as { code: string }).code }
}

describe('NodeInfo validation (the cases recorded from CometBFT)', () => {
  const cases: Record<string, (i: NodeInfo) => void> = {
    'as above': () => {},
    'listen_addr without tcp://': i => { i.listenAddr = '127.0.0.1:26656' },
    'listen_addr 0.0.0.0': i => { i.listenAddr = 'tcp://0.0.0.0:26656' },
    'listen_addr empty': i => { i.listenAddr = '' },
    'duplicate channel': i => { i.channels = Uint8Array.of(1, 1) },
    '17 channels': i => { i.channels = Uint8Array.from({ length: 17 }, (_, k) => k) },
    'empty moniker': i => { i.moniker = '' },
    "tx_index 'yes'": i => { i.other.txIndex = 'yes' },
    'empty version': i => { i.version = '' }
  }
  for (const v of gen.node_info_validate as Array<{ case: string, result: string }>) {
    it(`${v.case}: ${v.result.startsWith('error') ? 'refused' : 'accepted'}, as CometBFT does`, () => {
      const info = recorded()
      cases[v.case]!(info)
      const got = outcome(() => validateNodeInfo(info))
      expect(got === 'ok' ? 'valid' : 'error').toBe(v.result === 'valid' ? 'valid' : 'error')
      if (got !== 'ok') expect(got).toBe('ERR_INVALID_NODE_INFO')
    })
  }

  it('refuses every other broken field with the field named', () => {
    const broken: Array<[string, (i: NodeInfo) => void]> = [
      ['default_node_id', i => { i.nodeId = 'abc' }],
      ['listen_addr', i => { i.listenAddr = 'tcp://127.0.0.1:70000' }],
      ['listen_addr', i => { i.listenAddr = 'tcp://:26656' }],
      ['listen_addr', i => { i.listenAddr = 'tcp://bad_host!:26656' }],
      ['version', i => { i.version = 'v\t1' }],
      ['version', i => { i.version = '   ' }],
      ['moniker', i => { i.moniker = 'caf\u00e9' }],
      ['other.rpc_address', i => { i.other.rpcAddress = '\u0001' }]
    ]
    for (const [field, f] of broken) {
      const info = recorded()
      f(info)
      expect(() => validateNodeInfo(info)).toThrow(expect.objectContaining({ field }))
    }
    const ok = recorded()
    ok.listenAddr = 'tcp://node.example.com:26656'
    expect(() => validateNodeInfo(ok)).not.toThrow()
    ok.listenAddr = 'tcp://[::1]:26656'
    expect(() => validateNodeInfo(ok)).not.toThrow()
  })
})

describe('NodeInfo compatibility (the cases recorded from CometBFT)', () => {
  const cases: Record<string, [string | null, (i: NodeInfo) => void]> = {
    identical: [null, () => {}],
    'other p2p version 7': [null, i => { i.protocolVersion.p2p = 7 }],
    'other app version 5': [null, i => { i.protocolVersion.app = 5 }],
    'other block version 10': ['ERR_WRONG_BLOCK_VERSION', i => { i.protocolVersion.block = 10 }],
    'other network': ['ERR_WRONG_NETWORK', i => { i.network = 'other-chain' }],
    'one common channel': [null, i => { i.channels = Uint8Array.of(0x20, 0x00) }],
    'no common channel': ['ERR_NO_COMMON_CHANNEL', i => { i.channels = Uint8Array.of(0x20) }],
    'peer has no channels': ['ERR_NO_COMMON_CHANNEL', i => { i.channels = new Uint8Array(0) }],
    'other software version string': [null, i => { i.version = '9.9.9' }]
  }
  for (const v of gen.node_info_compatible_with as Array<{ case: string, result: string }>) {
    it(`${v.case}: ${v.result === 'compatible' ? 'compatible' : 'refused'}`, () => {
      const [code, f] = cases[v.case]!
      const theirs = recorded()
      f(theirs)
      expect(code === null).toBe(v.result === 'compatible')
      expect(outcome(() => checkCompatible(recorded(), theirs))).toBe(code ?? 'ok')
    })
  }

  it('accepts anyone when we advertise no channels (CometBFT\'s test mode)', () => {
    const ours = recorded()
    ours.channels = new Uint8Array(0)
    const theirs = recorded()
    theirs.channels = Uint8Array.of(0x20)
    expect(() => checkCompatible(ours, theirs)).not.toThrow()
  })

  it('error messages carry both values', () => {
    const theirs = recorded()
    theirs.network = 'other-chain'
    expect(() => checkCompatible(recorded(), theirs)).toThrow(/"other-chain".*"interop-chain"/)
  })

  it('makeNodeInfo fills CometBFT\'s defaults and validates', () => {
    const info = makeNodeInfo({ nodeId: '0ec237d5ed7f36eba9a43ad23957ada43db720d1', network: 'n', listenAddr: 'tcp://127.0.0.1:1', moniker: 'm', channels: [0] })
    expect(info.protocolVersion).toEqual({ p2p: 8, block: 11, app: 0 })
    expect(info.other.txIndex).toBe('off')
    expect(() => makeNodeInfo({ nodeId: 'x', network: 'n', listenAddr: 'tcp://127.0.0.1:1', moniker: 'm', channels: [] })).toThrow(/default_node_id/)
  })
})
