/**
 * The cipher's ceiling for SecretConnection framing in this run: seal and open 1028-byte frames
 * 64 per call (a 64 KiB write), one core, through the same FrameAead batch API the connection
 * uses. For per-frame implementations a "batch" is their per-frame loop.
 */
import { createAead, type AeadName } from '@switchyard/conn'

const FRAMES = 64
const SEALED = 1044

export function aeadCeiling (name: AeadName, megabytes: number): { sealMBs: number, openMBs: number } {
  const key = new Uint8Array(32).fill(1)
  const sealer = createAead(key, name, true)
  const opener = createAead(key, name, false)
  const calls = Math.ceil(megabytes * 1e6 / (FRAMES * 1028))
  const bufs = Array.from({ length: 2 }, () => Buffer.alloc(FRAMES * SEALED, 3))
  for (const b of bufs) for (let i = 0; i < FRAMES; i++) b.writeUInt32LE(1024, i * SEALED)
  const plain = Buffer.from(bufs[0]!)
  // Seal: a fresh layout each call would add a copy the connection does not make; reseal in place.
  let t0 = performance.now()
  for (let c = 0; c < calls; c++) sealer.sealFrames(bufs[0]!, FRAMES, c * FRAMES, 0)
  const seal = calls * FRAMES * 1028 / ((performance.now() - t0) / 1000) / 1e6
  // Open: open a sealed copy each call (opening is destructive: it moves the data to the front).
  const sealed = Buffer.from(plain)
  sealer.sealFrames(sealed, FRAMES, 0, 0)
  let elapsed = 0
  for (let c = 0; c < calls; c++) {
    bufs[1]!.set(sealed)
    t0 = performance.now()
    if (opener.openFrames(bufs[1]!, FRAMES, 0, 0) !== FRAMES * 1024) throw new Error(`${name}: open failed`)
    elapsed += performance.now() - t0
  }
  const open = calls * FRAMES * 1028 / (elapsed / 1000) / 1e6
  return { sealMBs: seal, openMBs: open }
}
