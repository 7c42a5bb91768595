/**
 * The cipher's ceiling for SecretConnection framing in this run: seal and open 1028-byte frames
 * 64 per call (a 64 KiB write), one core, through the same FrameAead batch API the connection
 * uses. For per-frame implementations a "batch" is their per-frame loop.
 */
import { createAead, type AeadName } from '@switchyard/conn'

const FRAMES = 64
const SEALED = 1044

const cpuMs = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000 }

/**
 * MB/s of wall time, and MB per CPU-second of this process (the figure a shared machine disturbs
 * least, to set against the transports' MB per CPU-second).
 */
export function aeadCeiling (name: AeadName, megabytes: number): { sealMBs: number, openMBs: number, sealMBsPerCpuS: number, openMBsPerCpuS: number } {
  const key = new Uint8Array(32).fill(1)
  const sealer = createAead(key, name, true)
  const opener = createAead(key, name, false)
  const calls = Math.ceil(megabytes * 1e6 / (FRAMES * 1028))
  const bufs = Array.from({ length: 2 }, () => Buffer.alloc(FRAMES * SEALED, 3))
  for (const b of bufs) for (let i = 0; i < FRAMES; i++) b.writeUInt32LE(1024, i * SEALED)
  const plain = Buffer.from(bufs[0]!)
  // Seal: a fresh layout each call would add a copy the connection does not make; reseal in place.
  const bytes = calls * FRAMES * 1028
  let t0 = performance.now()
  let c0 = cpuMs()
  for (let c = 0; c < calls; c++) sealer.sealFrames(bufs[0]!, FRAMES, c * FRAMES, 0)
  const seal = bytes / ((performance.now() - t0) / 1000) / 1e6
  const sealCpu = bytes / (cpuMs() - c0) / 1e3
  // Open: open a sealed copy each call (opening is destructive: it moves the data to the front).
  const sealed = Buffer.from(plain)
  sealer.sealFrames(sealed, FRAMES, 0, 0)
  // The copy that restores the sealed frames is timed too, and subtracted (measured alone below).
  t0 = performance.now()
  c0 = cpuMs()
  for (let c = 0; c < calls; c++) {
    bufs[1]!.set(sealed)
    if (opener.openFrames(bufs[1]!, FRAMES, 0, 0) !== FRAMES * 1024) throw new Error(`${name}: open failed`)
  }
  let wall = performance.now() - t0
  let cpu = cpuMs() - c0
  t0 = performance.now()
  c0 = cpuMs()
  for (let c = 0; c < calls; c++) bufs[1]!.set(sealed)
  wall -= performance.now() - t0
  cpu -= cpuMs() - c0
  return { sealMBs: seal, openMBs: bytes / wall / 1e3, sealMBsPerCpuS: sealCpu, openMBsPerCpuS: bytes / cpu / 1e3 }
}
