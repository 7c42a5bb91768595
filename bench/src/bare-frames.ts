/**
 * The floor under every SecretConnection stack on this machine: the least work its wire format
 * allows, with nothing else. The sender copies each message into the 1028-byte frame layout, seals
 * all its frames in one call and writes them to the socket; the receiver opens every whole frame of
 * each read in one call, in place, and hands the data on. No handshake (fixed keys), no MConnection
 * packets, scheduling, pacing or flow control beyond the socket's own. What MConnection adds is the
 * difference between this kind and `secret:<aead>` in the same run.
 */
import type net from 'node:net'
import { once } from 'node:events'
import {
  FrameNonce, SEALED_FRAME_SIZE, availableAeads, createAead, copyFramed, finishFrames, framedSize, type FrameAead
} from '@switchyard/conn'
import type { Side } from './links.js'

const KEY = new Uint8Array(32).fill(0x42)
/** Batch buffers the socket has finished with, kept for reuse (as SecretConnection does). */
const SPARES = 4

export function bareFramesSide (s: net.Socket): Side {
  const aead = availableAeads()[0]!
  const sealer = createAead(KEY, aead, true)
  const opener = createAead(KEY, aead, false)
  const sendNonce = new FrameNonce()
  const recvNonce = new FrameNonce()
  const spare: Buffer[] = []
  let failed: Error | undefined
  return {
    send: data => {
      const size = framedSize(data.length)
      const buf = spare.length > 0 && spare[spare.length - 1]!.length >= size ? spare.pop()! : Buffer.allocUnsafe(size)
      copyFramed(buf, 0, data, 0, data.length)
      const frames = finishFrames(buf, data.length)
      sealer.sealFrames(buf, frames, sendNonce.lo, sendNonce.hi)
      sendNonce.advance(frames)
      const chunk = buf.subarray(0, frames * SEALED_FRAME_SIZE)
      let reused = false
      const reuse = (): void => { if (!reused && spare.length < SPARES) spare.push(buf); reused = true }
      const ok = s.write(chunk, reuse)
      // Nothing left in the stream: the kernel took every byte, so the buffer is free at once (a
      // sender writing in a burst would otherwise allocate one per batch until the callbacks run).
      if (s.writableLength === 0) reuse()
      return ok
    },
    drained: async () => { await once(s, 'drain') },
    onReceive: cb => { s.on('data', openReads(opener, recvNonce, cb, err => { failed ??= err; s.destroy(err) })) },
    close: async () => { s.destroy(); if (failed !== undefined) throw failed }
  }
}

/** A 'data' listener opening whole frames in place; a frame split across reads is completed first. */
function openReads (opener: FrameAead, nonce: FrameNonce, deliver: (data: Uint8Array) => void, fail: (err: Error) => void): (chunk: Buffer) => void {
  const partial = Buffer.allocUnsafe(SEALED_FRAME_SIZE)
  let partialLen = 0
  const open = (buf: Buffer, frames: number): number => {
    const n = opener.openFrames(buf, frames, nonce.lo, nonce.hi)
    if (n < 0) { fail(new Error(`bare frames: frame ${nonce.value} failed to open (${n})`)); return -1 }
    nonce.advance(frames)
    return n
  }
  return chunk => {
    let pos = 0
    if (partialLen > 0) {
      const need = Math.min(SEALED_FRAME_SIZE - partialLen, chunk.length)
      chunk.copy(partial, partialLen, 0, need)
      partialLen += need
      pos = need
      if (partialLen < SEALED_FRAME_SIZE) return
      partialLen = 0
      const n = open(partial, 1)
      if (n < 0) return
      deliver(Buffer.from(partial.subarray(0, n)))
    }
    const frames = Math.floor((chunk.length - pos) / SEALED_FRAME_SIZE)
    if (frames > 0) {
      const region = chunk.subarray(pos, pos + frames * SEALED_FRAME_SIZE)
      const n = open(region, frames)
      if (n < 0) return
      deliver(region.subarray(0, n))
      pos += frames * SEALED_FRAME_SIZE
    }
    if (pos < chunk.length) {
      chunk.copy(partial, 0, pos)
      partialLen = chunk.length - pos
    }
  }
}
