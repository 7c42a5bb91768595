import { describe, expect, it, vi } from 'vitest'
import { mkdtempSync, readFileSync, statSync, writeFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NodeKey, loadNodeKey, saveNodeKey, loadOrCreateNodeKey, nodeIdFromPublicKey, isValidNodeId } from '@switchyard/p2p'
import { verifyEd25519 } from '@switchyard/conn'
import { readVector, hex, toHex } from '../../../test/vectors.js'

const gen = readVector('cometbft/generated-v0.37.18.json')
const tmp = (): string => mkdtempSync(join(tmpdir(), 'swy-key-'))

describe('NodeKey and node_key.json', () => {
  it('reads CometBFT\'s node_key.json and derives its node ID', () => {
    const key = NodeKey.fromJSON(gen.node_key_json)
    expect(key.id).toBe(gen.node_key_json_id)
    expect(JSON.stringify(key.toJSON())).toBe(gen.node_key_json)
  })

  it('known seeds give the known IDs and public keys', () => {
    const a = NodeKey.fromSeed(hex(gen.secret_connection.a.ed25519_seed))
    expect(toHex(a.publicKey)).toBe(gen.secret_connection.a.ed25519_pub_key)
    expect(a.id).toBe(gen.secret_connection.a.node_id)
    expect(NodeKey.fromSeed(new Uint8Array(32).fill(7)).id).toBe('fe812c12f3ab4ce6ac5db69ac352f906cb1b11ef')
    expect(nodeIdFromPublicKey(hex(gen.secret_connection.b.ed25519_pub_key))).toBe(gen.secret_connection.b.node_id)
    expect(toHex(a.sign(hex(gen.secret_connection.challenge)))).toBe(gen.secret_connection.a_signature)
  })

  it('generate() gives a key whose seed rebuilds the same identity, and whose signatures verify', () => {
    for (let i = 0; i < 20; i++) {
      const key = NodeKey.generate()
      const seed = Buffer.from(key.toJSON().priv_key.value, 'base64').subarray(0, 32)
      const again = NodeKey.fromSeed(seed)
      expect(Buffer.from(again.publicKey).toString('hex')).toBe(Buffer.from(key.publicKey).toString('hex'))
      expect(again.id).toBe(key.id)
      const msg = Buffer.from(`challenge ${i}`)
      expect(verifyEd25519(key.publicKey, msg, key.sign(msg))).toBe(true)
      expect(Buffer.from(again.sign(msg)).equals(Buffer.from(key.sign(msg)))).toBe(true)
    }
  })

  it('round-trips through a file with mode 0600 and never overwrites it', async () => {
    const dir = tmp()
    const path = join(dir, 'config', 'node_key.json')
    const key = NodeKey.generate()
    await saveNodeKey(path, key)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect((await loadNodeKey(path)).id).toBe(key.id)
    const before = readFileSync(path, 'utf8')
    await expect(saveNodeKey(path, NodeKey.generate())).rejects.toMatchObject({ code: 'ERR_FILE_EXISTS' })
    expect(readFileSync(path, 'utf8')).toBe(before)
    expect((await loadOrCreateNodeKey(path)).id).toBe(key.id)
    expect(readdirSync(join(dir, 'config'))).toEqual(['node_key.json'])
  })

  it('creates a key when none exists', async () => {
    const path = join(tmp(), 'node_key.json')
    const key = await loadOrCreateNodeKey(path)
    expect((await loadNodeKey(path)).id).toBe(key.id)
  })

  const bad: Array<[string, string, RegExp]> = [
    ['not JSON', '{', /not valid JSON/],
    ['no priv_key', '{}', /missing "priv_key"/],
    ['wrong type', '{"priv_key":{"type":"tendermint/PrivKeySecp256k1","value":"AA=="}}', /priv_key.type/],
    ['short value', '{"priv_key":{"type":"tendermint/PrivKeyEd25519","value":"AAAA"}}', /3 bytes, expected 64/],
    ['not base64', '{"priv_key":{"type":"tendermint/PrivKeyEd25519","value":"!!!"}}', /not base64/],
    ['mismatched public key', JSON.stringify({ priv_key: { type: 'tendermint/PrivKeyEd25519', value: Buffer.alloc(64, 1).toString('base64') } }), /does not match/]
  ]
  for (const [what, text, message] of bad) {
    it(`refuses a malformed file (${what}) with ERR_NODE_KEY_FILE and leaves it alone`, async () => {
      const path = join(tmp(), 'node_key.json')
      writeFileSync(path, text)
      const err = await loadNodeKey(path).catch(e => e)
      expect(err).toMatchObject({ code: 'ERR_NODE_KEY_FILE', path })
      expect(err.message).toMatch(message)
      await expect(loadOrCreateNodeKey(path)).rejects.toMatchObject({ code: 'ERR_NODE_KEY_FILE' })
      expect(readFileSync(path, 'utf8')).toBe(text)
    })
  }

  it('reports an unreadable path clearly', async () => {
    await expect(loadNodeKey('/nonexistent/node_key.json')).rejects.toMatchObject({ code: 'ERR_NODE_KEY_FILE', message: /ENOENT/ })
  })

  it('validates IDs the way CometBFT config does', () => {
    expect(isValidNodeId('0ec237d5ed7f36eba9a43ad23957ada43db720d1')).toBe(true)
    expect(isValidNodeId('0EC237D5ED7F36EBA9A43AD23957ADA43DB720D1')).toBe(true)
    expect(isValidNodeId('0ec237d5')).toBe(false)
    expect(isValidNodeId('zz' + '0'.repeat(38))).toBe(false)
  })

  it('signs through sodium-native here; SWITCHYARD_HANDSHAKE_CRYPTO=node:crypto signs through OpenSSL, to the same bytes', async () => {
    const sc = gen.secret_connection
    const fast = await import('../src/node-key-crypto.js')
    vi.resetModules()
    vi.stubEnv('SWITCHYARD_HANDSHAKE_CRYPTO', 'node:crypto')
    const slow = await import('../src/node-key-crypto.js').finally(() => vi.unstubAllEnvs())
    expect([fast.ed25519Signing, slow.ed25519Signing]).toEqual(['sodium-native', 'node:crypto'])
    for (const m of [fast, slow]) {
      const signer = m.ed25519FromSeed(hex(sc.a.ed25519_seed))
      expect(toHex(signer.publicKey)).toBe(sc.a.ed25519_pub_key)
      expect(toHex(signer.sign(hex(sc.challenge)))).toBe(sc.a_signature)
      expect(toHex(m.sha256(hex(sc.b.ed25519_pub_key))).slice(0, 40)).toBe(sc.b.node_id)
      const fresh = m.generateEd25519()
      const msg = Buffer.from('fresh')
      expect(toHex(fresh.signer.sign(msg))).toBe(toHex(slow.ed25519FromSeed(fresh.seed).sign(msg)))
      expect(toHex(fresh.signer.publicKey)).toBe(toHex(fast.ed25519FromSeed(fresh.seed).publicKey))
    }
  })
})
