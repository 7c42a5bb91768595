/** The unrolled Keccak-f[1600] behind Merlin against @noble/hashes, OpenSSL's SHA3 and its generator. */
import { describe, expect, it } from 'vitest'
import crypto from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { keccakP } from '@noble/hashes/sha3.js'
import { keccakF1600 } from '../src/keccak.js'
import * as browserKeccak from '../src/keccak.browser.js'

const root = fileURLToPath(new URL('../../../', import.meta.url))

/** SHA3-256 (rate 136 bytes, domain byte 0x06) over keccakF1600, for short messages. */
function sha3With (f: (s: Uint32Array) => void, message: Uint8Array): string {
  const words = new Uint32Array(50)
  const state = new Uint8Array(words.buffer)
  const rate = 136
  let pos = 0
  for (const b of message) {
    state[pos++]! ^= b
    if (pos === rate) { f(words); pos = 0 }
  }
  state[pos]! ^= 0x06
  state[rate - 1]! ^= 0x80
  f(words)
  return Buffer.from(state.subarray(0, 32)).toString('hex')
}

describe('keccakF1600', () => {
  it('maps the all-zero state to the published first lane 0xF1258F7940E1DDE7', () => {
    const s = new Uint32Array(50)
    keccakF1600(s)
    expect(s[1]!.toString(16) + s[0]!.toString(16).padStart(8, '0')).toBe('f1258f7940e1dde7')
  })

  it('agrees with @noble/hashes keccakP on 300 pseudo-random states', () => {
    let seed = crypto.createHash('sha256').update('keccak test').digest()
    for (let i = 0; i < 300; i++) {
      const bytes = Buffer.alloc(200)
      for (let o = 0; o < 200; o += 32) { seed = crypto.createHash('sha256').update(seed).digest(); seed.copy(bytes, o, 0, Math.min(32, 200 - o)) }
      const ours = new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + 200))
      const theirs = ours.slice()
      keccakF1600(ours)
      keccakP(theirs)
      expect(Buffer.from(ours.buffer).equals(Buffer.from(theirs.buffer))).toBe(true)
    }
  })

  it('as a SHA3-256 sponge gives OpenSSL\'s digests (messages across the rate boundary)', () => {
    for (const n of [0, 3, 135, 136, 137, 300]) {
      const m = Buffer.alloc(n, n & 0xff)
      expect(sha3With(keccakF1600, m)).toBe(crypto.createHash('sha3-256').update(m).digest('hex'))
    }
  })

  it('the browser build (@noble/hashes) exports the same and gives the same SHA3-256', () => {
    expect(Object.keys(browserKeccak)).toEqual(['keccakF1600'])
    const m = Buffer.alloc(200, 7)
    expect(sha3With(browserKeccak.keccakF1600, m)).toBe(sha3With(keccakF1600, m))
  })

  it('is exactly what scripts/gen-keccak.mjs generates', () => {
    expect(() => execFileSync(process.execPath, [`${root}scripts/gen-keccak.mjs`, '--check'], { stdio: 'pipe' })).not.toThrow()
  })
})
