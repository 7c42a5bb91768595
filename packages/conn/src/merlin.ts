/**
 * Merlin transcripts (merlin.cool) over STROBE-128, as the SecretConnection handshake needs them.
 * No npm package implements Merlin; this follows the STROBE v1.0.2 spec, restricted to the three
 * operations Merlin uses (meta-AD, AD, PRF). Keccak-f[1600] comes from @noble/hashes.
 */
import { keccakP } from '@noble/hashes/sha3.js'

const RATE = 166 // 200 - 256/8 - 2: STROBE-128
const FLAG_I = 1
const FLAG_A = 2
const FLAG_C = 4
const FLAG_M = 16
const FLAG_K = 32

const utf8 = new TextEncoder()

// keccakP works on 32-bit little-endian lanes; the byte view below relies on a little-endian host.
if (new Uint8Array(Uint32Array.of(1).buffer)[0] !== 1) throw new Error('Merlin transcripts need a little-endian host')

class Strobe128 {
  private readonly words = new Uint32Array(50)
  private readonly state = new Uint8Array(this.words.buffer)
  private pos = 0
  private posBegin = 0
  private curFlags = 0

  constructor (protocolLabel: Uint8Array) {
    this.state.set([1, RATE + 2, 1, 0, 1, 96], 0)
    this.state.set(utf8.encode('STROBEv1.0.2'), 6)
    keccakP(this.words)
    this.metaAd(protocolLabel, false)
  }

  metaAd (data: Uint8Array, more: boolean): void {
    this.beginOp(FLAG_M | FLAG_A, more)
    this.absorb(data)
  }

  ad (data: Uint8Array, more: boolean): void {
    this.beginOp(FLAG_A, more)
    this.absorb(data)
  }

  prf (n: number, more: boolean): Uint8Array {
    this.beginOp(FLAG_I | FLAG_A | FLAG_C, more)
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i++) {
      out[i] = this.state[this.pos]!
      this.state[this.pos] = 0
      if (++this.pos === RATE) this.runF()
    }
    return out
  }

  private beginOp (flags: number, more: boolean): void {
    if (more) {
      if (flags !== this.curFlags) throw new Error('STROBE: continued operation with different flags')
      return
    }
    const oldBegin = this.posBegin
    this.posBegin = this.pos + 1
    this.curFlags = flags
    this.absorb(Uint8Array.of(oldBegin, flags))
    if ((flags & (FLAG_C | FLAG_K)) !== 0 && this.pos !== 0) this.runF()
  }

  private absorb (data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) {
      this.state[this.pos]! ^= data[i]!
      if (++this.pos === RATE) this.runF()
    }
  }

  private runF (): void {
    this.state[this.pos]! ^= this.posBegin
    this.state[this.pos + 1]! ^= 0x04
    this.state[RATE + 1]! ^= 0x80
    keccakP(this.words)
    this.pos = 0
    this.posBegin = 0
  }
}

function le32 (n: number): Uint8Array {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, n, true)
  return b
}

const asBytes = (x: Uint8Array | string): Uint8Array => typeof x === 'string' ? utf8.encode(x) : x

export class Transcript {
  private readonly strobe = new Strobe128(utf8.encode('Merlin v1.0'))

  constructor (label: Uint8Array | string) {
    this.appendMessage('dom-sep', label)
  }

  appendMessage (label: Uint8Array | string, message: Uint8Array | string): void {
    const m = asBytes(message)
    this.strobe.metaAd(asBytes(label), false)
    this.strobe.metaAd(le32(m.length), true)
    this.strobe.ad(m, false)
  }

  challengeBytes (label: Uint8Array | string, n: number): Uint8Array {
    this.strobe.metaAd(asBytes(label), false)
    this.strobe.metaAd(le32(n), true)
    return this.strobe.prf(n, false)
  }
}
