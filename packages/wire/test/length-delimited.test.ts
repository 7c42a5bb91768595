import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  LengthDelimitedDecoder, encodeDelimited, MessageTooLargeError, MalformedMessageError, encodeUvarint,
  readUvarint, uvarintSize
} from '@switchyard/wire'

describe('uvarint', () => {
  it('round-trips and sizes every magnitude (property)', () => {
    fc.assert(fc.property(fc.maxSafeNat(), v => {
      const b = encodeUvarint(v)
      expect(b.length).toBe(uvarintSize(v))
      const out = { value: 0, next: 0 }
      expect(readUvarint(b, 0, b.length, out)).toBe(true)
      expect(out).toEqual({ value: v, next: b.length })
      expect(readUvarint(b, 0, b.length - 1, out)).toBe(false)
    }))
  })
  it('refuses an 11-byte varint', () => {
    const b = new Uint8Array(11).fill(0x80)
    expect(() => readUvarint(b, 0, 11, { value: 0, next: 0 })).toThrow(MalformedMessageError)
  })
})

describe('LengthDelimitedDecoder', () => {
  it('yields the same messages whatever the fragmentation (property)', () => {
    fc.assert(fc.property(
      fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
      fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 10 }),
      (msgs, cuts) => {
        const stream = Buffer.concat(msgs.map(m => encodeDelimited(m)))
        const dec = new LengthDelimitedDecoder(300)
        const got: string[] = []
        for (let pos = 0, i = 0; pos < stream.length; i++) {
          const n = cuts[i % cuts.length]!
          dec.push(stream.subarray(pos, pos + n), b => { got.push(Buffer.from(b).toString('hex')) })
          pos += n
        }
        expect(got).toEqual(msgs.map(m => Buffer.from(m).toString('hex')))
        expect(dec.buffered).toBe(0)
      }
    ))
  })

  it('pushSpans gives the same bodies as push, as ranges of the chunk or of its own buffer (property)', () => {
    fc.assert(fc.property(
      fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
      fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 10 }),
      (msgs, cuts) => {
        const stream = Buffer.concat(msgs.map(m => encodeDelimited(m)))
        const dec = new LengthDelimitedDecoder(300)
        const got: string[] = []
        for (let pos = 0, i = 0; pos < stream.length; i++) {
          const n = cuts[i % cuts.length]!
          const chunk = stream.subarray(pos, pos + n)
          dec.pushSpans(chunk, (buf, start, end) => {
            expect(start >= 0 && start <= end && end <= buf.length).toBe(true)
            got.push(Buffer.from(buf.subarray(start, end)).toString('hex'))
          })
          pos += n
        }
        expect(got).toEqual(msgs.map(m => Buffer.from(m).toString('hex')))
      }
    ))
  })

  it('bodies split across chunks stay intact when kept past their callback (the slab is never reused)', () => {
    // 1 KiB bodies cut into 700-byte chunks: most split, and 40 of them outgrow several 16 KiB slabs.
    const msgs = Array.from({ length: 40 }, (_, i) => new Uint8Array(1000 + i).fill(i + 1))
    const stream = Buffer.concat(msgs.map(m => encodeDelimited(m)))
    const dec = new LengthDelimitedDecoder(2000)
    const kept: Uint8Array[] = []
    for (let pos = 0; pos < stream.length; pos += 700) dec.push(Buffer.from(stream.subarray(pos, pos + 700)), b => { kept.push(b) })
    expect(kept.length).toBe(40)
    kept.forEach((b, i) => {
      expect(b.length).toBe(1000 + i)
      expect(b.every(x => x === i + 1)).toBe(true)
    })
  })

  it('refuses an oversized length before allocating, even when the header is split', () => {
    const dec = new LengthDelimitedDecoder(1000, 'packet')
    const big = encodeUvarint(2 ** 40)
    dec.push(big.subarray(0, 2), () => {})
    expect(() => dec.push(big.subarray(2), () => {})).toThrow(MessageTooLargeError)
    const err = (() => { try { new LengthDelimitedDecoder(10, 'packet').push(encodeUvarint(11), () => {}) } catch (e) { return e } })()
    expect(err).toMatchObject({ code: 'ERR_MESSAGE_TOO_LARGE', size: 11, limit: 10 })
  })

  it('stops when the callback returns false and reports bytes consumed', () => {
    const stream = Buffer.concat([encodeDelimited(Uint8Array.of(1)), encodeDelimited(Uint8Array.of(2))])
    const dec = new LengthDelimitedDecoder(10)
    const got: number[] = []
    const used = dec.push(stream, b => { got.push(b[0]!); return false })
    expect(used).toBe(2)
    dec.push(stream.subarray(used), b => { got.push(b[0]!) })
    expect(got).toEqual([1, 2])
  })

  it('handles empty messages and a header that ends a chunk', () => {
    const dec = new LengthDelimitedDecoder(10)
    const got: number[] = []
    dec.push(Uint8Array.of(0, 0, 3), b => { got.push(b.length) })
    dec.push(Uint8Array.of(7, 8, 9, 0), b => { got.push(b.length) })
    expect(got).toEqual([0, 0, 3, 0])
  })
})
