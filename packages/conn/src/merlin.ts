/**
 * Merlin transcripts (merlin.cool) over STROBE-128, as the SecretConnection handshake needs them.
 * No npm package implements Merlin; this follows the STROBE v1.0.2 spec, restricted to the three
 * operations Merlin uses (meta-AD, AD, PRF). Keccak-f[1600] is keccak.ts (unrolled JavaScript).
 * Per handshake: a transcript starts from a copy of the state its label leads to (cached per label),
 * so only two permutations remain (~5 µs).
 */
import { keccakF1600 } from './keccak.js'

const RATE = 166 // 200 - 256/8 - 2: STROBE-128
const FLAG_I = 1
const FLAG_A = 2
const FLAG_C = 4
const FLAG_M = 16
const FLAG_K = 32

const utf8 = new TextEncoder()

// keccakF1600 works on 32-bit little-endian lanes; the byte view below relies on a little-endian host.
if (new Uint8Array(Uint32Array.of(1).buffer)[0] !== 1) throw new Error('Merlin transcripts need a little-endian host')

class Strobe128 {
  private readonly words = new Uint32Array(50)
  private readonly state = new Uint8Array(this.words.buffer)
  private pos = 0
  private posBegin = 0
  private curFlags = 0

  constructor (protocolLabel?: Uint8Array) {
    if (protocolLabel === undefined) return
    this.state.set([1, RATE + 2, 1, 0, 1, 96], 0)
    this.state.set(utf8.encode('STROBEv1.0.2'), 6)
    keccakF1600(this.words)
    this.metaAd(protocolLabel, false)
  }

  /** An independent copy of this state. */
  clone (): Strobe128 {
    const c = new Strobe128()
    c.words.set(this.words)
    c.pos = this.pos
    c.posBegin = this.posBegin
    c.curFlags = this.curFlags
    return c
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
    this.absorbByte(oldBegin)
    this.absorbByte(flags)
    if ((flags & (FLAG_C | FLAG_K)) !== 0 && this.pos !== 0) this.runF()
  }

  absorb (data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) {
      this.state[this.pos]! ^= data[i]!
      if (++this.pos === RATE) this.runF()
    }
  }

  absorbByte (b: number): void {
    this.state[this.pos]! ^= b
    if (++this.pos === RATE) this.runF()
  }

  /** Absorbs a 32-bit little-endian length (Merlin's framing of every message). */
  absorbLe32 (n: number): void {
    this.absorbByte(n & 0xff)
    this.absorbByte((n >>> 8) & 0xff)
    this.absorbByte((n >>> 16) & 0xff)
    this.absorbByte(n >>> 24)
  }

  private runF (): void {
    this.state[this.pos]! ^= this.posBegin
    this.state[this.pos + 1]! ^= 0x04
    this.state[RATE + 1]! ^= 0x80
    keccakF1600(this.words)
    this.pos = 0
    this.posBegin = 0
  }
}

const asLabel = (x: Uint8Array | string): Uint8Array => typeof x === 'string' ? labelBytes(x) : x

// Labels are a program's constants: their bytes, and the state after a transcript's domain
// separator, are kept (a few entries; strings only, so the bound is never reached in practice).
const MAX_CACHED = 64
const encodedLabels = new Map<string, Uint8Array>()
const startStates = new Map<string, Strobe128>()

function labelBytes (label: string): Uint8Array {
  let b = encodedLabels.get(label)
  if (b === undefined) {
    b = utf8.encode(label)
    if (encodedLabels.size < MAX_CACHED) encodedLabels.set(label, b)
  }
  return b
}

function startState (label: Uint8Array | string): Strobe128 {
  const cached = typeof label === 'string' ? startStates.get(label) : undefined
  if (cached !== undefined) return cached.clone()
  const strobe = new Strobe128(utf8.encode('Merlin v1.0'))
  append(strobe, labelBytes('dom-sep'), asLabel(label))
  if (typeof label === 'string' && startStates.size < MAX_CACHED) startStates.set(label, strobe.clone())
  return strobe
}

function append (strobe: Strobe128, label: Uint8Array, message: Uint8Array): void {
  strobe.metaAd(label, false)
  strobe.absorbLe32(message.length) // meta-AD continued
  strobe.ad(message, false)
}

export class Transcript {
  private readonly strobe: Strobe128

  constructor (label: Uint8Array | string) {
    this.strobe = startState(label)
  }

  appendMessage (label: Uint8Array | string, message: Uint8Array | string): void {
    append(this.strobe, asLabel(label), typeof message === 'string' ? utf8.encode(message) : message)
  }

  challengeBytes (label: Uint8Array | string, n: number): Uint8Array {
    this.strobe.metaAd(asLabel(label), false)
    this.strobe.absorbLe32(n) // meta-AD continued
    return this.strobe.prf(n, false)
  }
}
