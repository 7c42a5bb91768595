/**
 * The browser builds of the crypto modules (@noble, swapped in by package.json "browser" fields)
 * against the Node ones, in both directions: same keys, same shared secrets, same session keys,
 * same frames, and each accepts what the other signs or seals.
 */
import { describe, expect, it } from 'vitest'
import net from 'node:net'
import * as nodeAead from '../../conn/src/aead.js'
import * as webAead from '../../conn/src/aead.browser.js'
import * as nodeHs from '../../conn/src/handshake-crypto.js'
import * as webHs from '../../conn/src/handshake-crypto.browser.js'
import * as nodeKey from '../../p2p/src/node-key-crypto.js'
import * as webKey from '../../p2p/src/node-key-crypto.browser.js'
import * as netShim from '../src/shims/net.js'

const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 0xff)
const FRAME = 1028
const SEALED = 1044

describe('browser crypto modules match the Node ones', () => {
  it('export the same names', () => {
    expect(Object.keys(webAead).sort()).toEqual(Object.keys(nodeAead).sort())
    expect(Object.keys(webHs).sort()).toEqual(Object.keys(nodeHs).sort())
    expect(Object.keys(webKey).sort()).toEqual(Object.keys(nodeKey).sort())
  })

  it('X25519: same public keys and shared secrets (WebCrypto and @noble keys alike); low-order points refused by both', async () => {
    const a = bytes(32, 1)
    const b = bytes(32, 2)
    const na = nodeHs.ephemeralKeys(a)
    const wa = await webHs.ephemeralKeys(a)
    const wb = await webHs.ephemeralKeys(b)
    expect(Buffer.from(wa.publicKey).toString('hex')).toBe(Buffer.from(na.publicKey).toString('hex'))
    const fromNode = nodeHs.x25519(na.privateKey, wb.publicKey)
    const fromWeb = await webHs.x25519(wb.privateKey, na.publicKey)
    expect(Buffer.from(fromWeb).equals(Buffer.from(fromNode))).toBe(true)
    // Fresh keys come from WebCrypto where the runtime has X25519 (Node 20 does): a CryptoKey.
    expect(await webHs.handshakeCryptoStatus()).toEqual({ x25519: 'webcrypto', ed25519Verify: 'webcrypto' })
    const fresh = await webHs.ephemeralKeys()
    expect(fresh.privateKey).not.toBeInstanceOf(Uint8Array)
    const viaWebCrypto = await webHs.x25519(fresh.privateKey, nodeHs.ephemeralKeys(b).publicKey)
    expect(Buffer.from(viaWebCrypto).equals(Buffer.from(nodeHs.x25519(nodeHs.ephemeralKeys(b).privateKey, fresh.publicKey)))).toBe(true)
    // The identity point (all zero) has low order: refused on every path.
    await expect(webHs.x25519(wa.privateKey, new Uint8Array(32))).rejects.toMatchObject({ code: 'ERR_LOW_ORDER_KEY' })
    await expect(webHs.x25519(fresh.privateKey, new Uint8Array(32))).rejects.toMatchObject({ code: 'ERR_LOW_ORDER_KEY' })
    expect(() => nodeHs.x25519(na.privateKey, new Uint8Array(32))).toThrow(expect.objectContaining({ code: 'ERR_LOW_ORDER_KEY' }))
    // Fresh keys differ each time.
    expect(Buffer.from((await webHs.ephemeralKeys()).publicKey).equals(Buffer.from(fresh.publicKey))).toBe(false)
  })

  it('HKDF session keys, key ordering and hex prefixes agree', () => {
    const dh = bytes(32, 3)
    for (const least of [true, false]) {
      const n = nodeHs.deriveSecrets(dh, least)
      const w = webHs.deriveSecrets(dh, least)
      expect(Buffer.from(w.sendKey).toString('hex')).toBe(Buffer.from(n.sendKey).toString('hex'))
      expect(Buffer.from(w.recvKey).toString('hex')).toBe(Buffer.from(n.recvKey).toString('hex'))
    }
    const x = bytes(32, 4)
    const y = Uint8Array.from(x)
    y[31] = (y[31]! + 1) & 0xff
    expect(Math.sign(webHs.compareBytes(x, y))).toBe(Math.sign(nodeHs.compareBytes(x, y)))
    expect(Math.sign(webHs.compareBytes(y, x))).toBe(Math.sign(nodeHs.compareBytes(y, x)))
    expect(webHs.compareBytes(x, Uint8Array.from(x))).toBe(0)
    expect(webHs.hexPrefix(x)).toBe(nodeHs.hexPrefix(x))
  })

  it('ed25519: same public key and signature from a seed; each verifies the other; tampering fails both', async () => {
    const seed = bytes(32, 5)
    const msg = bytes(32, 6)
    const n = nodeKey.ed25519FromSeed(seed)
    const w = webKey.ed25519FromSeed(seed)
    expect(Buffer.from(w.publicKey).toString('hex')).toBe(Buffer.from(n.publicKey).toString('hex'))
    const sig = w.sign(msg)
    expect(Buffer.from(sig).toString('hex')).toBe(Buffer.from(n.sign(msg)).toString('hex'))
    expect(nodeHs.verifyEd25519(w.publicKey, msg, sig)).toBe(true)
    expect(await webHs.verifyEd25519(n.publicKey, msg, n.sign(msg))).toBe(true)
    const bad = Uint8Array.from(sig)
    bad[10]! ^= 1
    expect(await webHs.verifyEd25519(n.publicKey, msg, bad)).toBe(false)
    expect(nodeHs.verifyEd25519(n.publicKey, msg, bad)).toBe(false)
    expect(await webHs.verifyEd25519(n.publicKey.subarray(0, 31), msg, sig)).toBe(false)
    expect(Buffer.from(webKey.sha256(msg)).toString('hex')).toBe(Buffer.from(nodeKey.sha256(msg)).toString('hex'))
    const g = webKey.generateEd25519()
    expect(Buffer.from(webKey.ed25519FromSeed(g.seed).publicKey).equals(Buffer.from(g.signer.publicKey))).toBe(true)
  })

  it('AEAD: the same sealed frames; each opens the other\'s; a flipped bit is refused at its frame', () => {
    const key = bytes(32, 7)
    const frames = 3
    const plain = new Uint8Array(frames * SEALED)
    for (let i = 0; i < frames; i++) {
      const f = plain.subarray(i * SEALED, i * SEALED + FRAME)
      f.set(bytes(FRAME, 10 + i))
      f[0] = 200 + i; f[1] = 0; f[2] = 0; f[3] = 0 // declares 200+i data bytes
    }
    const viaNode = Uint8Array.from(plain)
    const viaWeb = Uint8Array.from(plain)
    nodeAead.createAead(key, 'node:crypto', true).sealFrames(viaNode, frames, 0xfffffffe, 0)
    webAead.createAead(key).sealFrames(viaWeb, frames, 0xfffffffe, 0)
    expect(Buffer.from(viaWeb).equals(Buffer.from(viaNode))).toBe(true)

    const n = webAead.createAead(key, undefined, false).openFrames(Uint8Array.from(viaNode), frames, 0xfffffffe, 0)
    expect(n).toBe(200 + 201 + 202)
    const opened = Uint8Array.from(viaWeb)
    expect(nodeAead.createAead(key, 'node:crypto', false).openFrames(opened, frames, 0xfffffffe, 0)).toBe(603)
    expect(Buffer.from(opened.subarray(0, 200)).equals(Buffer.from(plain.subarray(4, 204)))).toBe(true)

    const tampered = Uint8Array.from(viaNode)
    tampered[SEALED + 50]! ^= 1
    expect(webAead.createAead(key, undefined, false).openFrames(tampered, frames, 0xfffffffe, 0)).toBe(-3)
  })

  it('the net shim classifies addresses as node:net does', () => {
    const cases = ['127.0.0.1', '0.0.0.0', '255.255.255.255', '256.1.1.1', '1.2.3', '01.2.3.4', '::1', '::', 'fe80::1%eth0', '2001:db8::8a2e:370:7334',
      '2001:0db8:0000:0000:0000:ff00:0042:8329', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9', '1::2::3', '::ffff:192.168.1.1', 'example.com', '', ':', 'g::1', '1:2:3:4:5:6:7::']
    for (const c of cases) expect([c, netShim.isIP(c)]).toEqual([c, net.isIP(c)])
  })
})
