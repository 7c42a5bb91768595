import { MalformedMessageError } from './errors.js'

/** Number of bytes the unsigned LEB128 varint of `value` takes (value < 2^53). */
export function uvarintSize (value: number): number {
  if (value < 0x80) return 1
  if (value < 0x4000) return 2
  if (value < 0x200000) return 3
  if (value < 0x10000000) return 4
  let size = 4
  let v = Math.floor(value / 0x10000000)
  while (v > 0) { size++; v = Math.floor(v / 0x80) }
  return size
}

/** Writes `value` (a non-negative safe integer) at `offset`; returns the offset after it. */
export function writeUvarint (buf: Uint8Array, offset: number, value: number): number {
  while (value >= 0x80) {
    buf[offset++] = (value & 0x7f) | 0x80
    value = Math.floor(value / 0x80)
  }
  buf[offset++] = value
  return offset
}

export function encodeUvarint (value: number): Uint8Array {
  const out = new Uint8Array(uvarintSize(value))
  writeUvarint(out, 0, value)
  return out
}

/**
 * Result slots for readUvarint, reused to keep the parse loop allocation-free:
 * `value` is the decoded number, `next` the offset after it.
 */
export interface UvarintResult { value: number, next: number }

/**
 * Reads an unsigned varint at `offset`. Returns false when the buffer ends before the varint does
 * (the caller waits for more bytes). Throws MalformedMessageError for a varint longer than 10 bytes
 * or a value that is not a safe integer: no legal length gets near either.
 */
export function readUvarint (buf: Uint8Array, offset: number, end: number, out: UvarintResult): boolean {
  let value = 0
  let scale = 1
  for (let i = 0; i < 10; i++) {
    if (offset + i >= end) return false
    const b = buf[offset + i]!
    value += (b & 0x7f) * scale
    if (b < 0x80) {
      if (!Number.isSafeInteger(value)) throw new MalformedMessageError('varint value out of range')
      out.value = value
      out.next = offset + i + 1
      return true
    }
    scale *= 0x80
  }
  throw new MalformedMessageError('varint longer than 10 bytes')
}
