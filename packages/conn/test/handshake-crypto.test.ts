/**
 * Both handshake crypto backends (sodium-native, node:crypto) against CometBFT's recorded
 * handshake and golden HKDF file, and against each other.
 */
import { describe, expect, it, vi } from 'vitest'
import { readFileSync } from 'node:fs'
import { handshakeCryptoStatus } from '@switchyard/conn'
import { availableHandshakeCrypto, handshakeCryptoBackend, type HandshakeCryptoName } from '../src/handshake-crypto.js'
import { hex, readVector, toHex, vectorsDir } from '../../../test/vectors.js'

const sc = readVector('cometbft/generated-v0.37.18.json').secret_connection
const golden = readFileSync(vectorsDir + 'cometbft/derive-secrets.golden.csv', 'utf8').trim().split('\n')
// A point of order 8 on Curve25519 (RFC 7748 §7 lists the low-order points); X25519 with it gives zeros.
const LOW_ORDER = hex('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800')

describe('handshake crypto backends', () => {
  it('sodium-native (installed in this workspace) loads and is the default', async () => {
    expect(availableHandshakeCrypto()).toEqual(['sodium-native', 'node:crypto'])
    expect(await handshakeCryptoStatus()).toEqual({ x25519: 'sodium-native', ed25519Verify: 'sodium-native' })
  })

  it('SWITCHYARD_HANDSHAKE_CRYPTO=node:crypto makes node:crypto the default; an unknown name is an error', async () => {
    vi.resetModules()
    vi.stubEnv('SWITCHYARD_HANDSHAKE_CRYPTO', 'node:crypto')
    const m = await import('../src/handshake-crypto.js').finally(() => vi.unstubAllEnvs())
    expect(await m.handshakeCryptoStatus()).toEqual({ x25519: 'node:crypto', ed25519Verify: 'node:crypto' })
    const a = m.ephemeralKeys(hex(sc.a.x25519_eph_priv))
    expect(toHex(m.x25519(a.privateKey, hex(sc.b.x25519_eph_pub)))).toBe(sc.dh_secret)
    vi.resetModules()
    vi.stubEnv('SWITCHYARD_HANDSHAKE_CRYPTO', 'openssl-please')
    await expect(import('../src/handshake-crypto.js').finally(() => vi.unstubAllEnvs())).rejects.toThrow(/SWITCHYARD_HANDSHAKE_CRYPTO=openssl-please/)
  })

  for (const name of ['sodium-native', 'node:crypto'] as HandshakeCryptoName[]) {
    describe(name, () => {
      const b = handshakeCryptoBackend(name)

      it('derives the recorded ephemeral public keys and DH secret from the fixed private keys', () => {
        const a = b.ephemeralKeys(hex(sc.a.x25519_eph_priv))
        const bb = b.ephemeralKeys(hex(sc.b.x25519_eph_priv))
        expect(toHex(a.publicKey)).toBe(sc.a.x25519_eph_pub)
        expect(toHex(bb.publicKey)).toBe(sc.b.x25519_eph_pub)
        expect(toHex(b.x25519(a.privateKey, bb.publicKey))).toBe(sc.dh_secret)
        expect(toHex(b.x25519(bb.privateKey, a.publicKey))).toBe(sc.dh_secret)
      })

      it('HKDF matches the recorded session keys and all 32 lines of CometBFT\'s golden file', () => {
        const okm = b.hkdf(hex(sc.dh_secret))
        // A sorts higher (a_is_least false): it receives with the second half.
        expect(sc.a_is_least).toBe(false)
        expect(toHex(okm.subarray(32))).toBe(sc.a_recv_key)
        expect(toHex(okm.subarray(0, 32))).toBe(sc.a_send_key)
        expect(golden.length).toBe(32)
        for (const line of golden) {
          const [dh, least, recv, send] = line.split(',') as [string, string, string, string]
          const o = b.hkdf(hex(dh))
          expect([toHex(o.subarray(0, 32)), toHex(o.subarray(32))]).toEqual(least === 'true' ? [recv, send] : [send, recv])
        }
      })

      it('verifies the recorded signatures and refuses altered ones', () => {
        const challenge = hex(sc.challenge)
        expect(b.verifyEd25519(hex(sc.a.ed25519_pub_key), challenge, hex(sc.a_signature))).toBe(true)
        expect(b.verifyEd25519(hex(sc.b.ed25519_pub_key), challenge, hex(sc.b_signature))).toBe(true)
        const bad = hex(sc.a_signature)
        bad[10]! ^= 1
        expect(b.verifyEd25519(hex(sc.a.ed25519_pub_key), challenge, bad)).toBe(false)
        expect(b.verifyEd25519(hex(sc.b.ed25519_pub_key), challenge, hex(sc.a_signature))).toBe(false)
        expect(b.verifyEd25519(hex(sc.a.ed25519_pub_key).subarray(0, 31), challenge, hex(sc.a_signature))).toBe(false)
        expect(b.verifyEd25519(hex(sc.a.ed25519_pub_key), challenge, hex(sc.a_signature).subarray(0, 63))).toBe(false)
      })

      it('refuses low-order peer keys with ERR_LOW_ORDER_KEY', () => {
        const k = b.ephemeralKeys()
        expect(() => b.x25519(k.privateKey, new Uint8Array(32))).toThrow(expect.objectContaining({ code: 'ERR_LOW_ORDER_KEY' }))
        expect(() => b.x25519(k.privateKey, LOW_ORDER)).toThrow(expect.objectContaining({ code: 'ERR_LOW_ORDER_KEY' }))
      })

      it('makes a fresh key pair each time, and agrees on DH with the other backend', () => {
        const other = handshakeCryptoBackend(name === 'node:crypto' ? 'sodium-native' : 'node:crypto')
        const k1 = b.ephemeralKeys()
        const k2 = b.ephemeralKeys()
        expect(toHex(k1.publicKey)).not.toBe(toHex(k2.publicKey))
        const o = other.ephemeralKeys()
        expect(toHex(b.x25519(k1.privateKey, o.publicKey))).toBe(toHex(other.x25519(o.privateKey, k1.publicKey)))
      })
    })
  }
})
