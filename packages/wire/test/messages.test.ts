import { describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import {
  decodeNodeInfo, encodeNodeInfo, decodePexMessage, encodePexMessage, encodeAuthSigMessage,
  decodeAuthSigMessage, encodeBytesValue, decodeBytesValue, LengthDelimitedDecoder, MalformedMessageError,
  encodeDelimited
} from '@switchyard/wire'
import { hex, readVector, toHex } from '../../../test/vectors.js'

const gen = readVector('cometbft/generated-v0.37.18.json')

function undelimit (bytes: Uint8Array): Uint8Array {
  let body: Uint8Array | undefined
  new LengthDelimitedDecoder(1 << 20).push(bytes, b => { body = b })
  if (body === undefined) throw new Error('no body')
  return body
}

describe('protobuf messages', () => {
  it('NodeInfo round-trips the recorded CometBFT bytes', () => {
    const body = undelimit(hex(gen.node_info.hex))
    const info = decodeNodeInfo(body)
    expect(info).toMatchObject({
      protocolVersion: { p2p: 8, block: 11, app: 0 },
      nodeId: '0ec237d5ed7f36eba9a43ad23957ada43db720d1',
      listenAddr: 'tcp://127.0.0.1:26656',
      network: 'interop-chain',
      version: '0.37.16',
      moniker: 'cmtpeer',
      other: { txIndex: 'off', rpcAddress: '' }
    })
    expect(toHex(info.channels)).toBe('7e00')
    expect(toHex(encodeDelimited(encodeNodeInfo(info)))).toBe(gen.node_info.hex)
  })

  it('NodeInfo with every field empty still writes protocol_version and other, as gogoproto does', () => {
    const empty = encodeNodeInfo({
      protocolVersion: { p2p: 0, block: 0, app: 0 }, nodeId: '', listenAddr: '', network: '', version: '',
      channels: new Uint8Array(0), moniker: '', other: { txIndex: '', rpcAddress: '' }
    })
    expect(toHex(empty)).toBe('0a00' + '4200')
  })

  it('PEX messages match the recorded bytes both ways', () => {
    expect(toHex(encodePexMessage({ type: 'request' }))).toBe(gen.pex.pex_request)
    expect(toHex(encodePexMessage({ type: 'addrs', addrs: [] }))).toBe(gen.pex.pex_addrs_empty)
    const addrs = [
      { id: '0ec237d5ed7f36eba9a43ad23957ada43db720d1', ip: '127.0.0.1', port: 26656 },
      { id: 'f5dc14caa97f130df9d790a1f3f3d8fa7e62feef', ip: '10.0.0.2', port: 26657 }
    ]
    expect(toHex(encodePexMessage({ type: 'addrs', addrs }))).toBe(gen.pex.pex_addrs)
    expect(decodePexMessage(hex(gen.pex.pex_addrs))).toEqual({ type: 'addrs', addrs })
    expect(decodePexMessage(hex(gen.pex.pex_request))).toEqual({ type: 'request' })
    expect(() => decodePexMessage(new Uint8Array(0))).toThrow(MalformedMessageError)
    expect(() => decodePexMessage(hex('12ff'))).toThrow(MalformedMessageError)
  })

  it('AuthSigMessage and the ephemeral-key BytesValue match the recorded handshake', () => {
    const sc = gen.secret_connection
    const a = undelimit(hex(sc.a_auth_sig_plaintext))
    const m = decodeAuthSigMessage(a)
    expect(m.keyType).toBe('ed25519')
    expect(toHex(m.pubKey)).toBe(sc.a.ed25519_pub_key)
    expect(toHex(m.sig)).toBe(sc.a_signature)
    expect(toHex(encodeDelimited(encodeAuthSigMessage(m.pubKey, m.sig)))).toBe(sc.a_auth_sig_plaintext)
    expect(toHex(encodeDelimited(encodeBytesValue(hex(sc.a.x25519_eph_pub))))).toBe(sc.a_eph_msg_sent)
    expect(toHex(decodeBytesValue(undelimit(hex(sc.b_eph_msg_sent))))).toBe(sc.b.x25519_eph_pub)
    expect(decodeAuthSigMessage(hex('0a0012021234')).keyType).toBe('none')
    expect(decodeAuthSigMessage(hex('0a03120101')).keyType).toBe('secp256k1')
  })

  it('the generated descriptor is up to date with proto/', () => {
    const script = fileURLToPath(new URL('../../../scripts/gen-proto.mjs', import.meta.url))
    expect(execFileSync(process.execPath, [script, '--check'], { encoding: 'utf8' })).toContain('up to date')
  })
})
