import { describe, expect, it } from 'vitest'
import crypto from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  SEALED_FRAME_SIZE, availableAeads, copyFramed, createAead, finishFrames, framedOffset, framedSize
} from '@switchyard/conn'

/** The reference: node:crypto sealing one frame under nonce counter `n`. */
function referenceSeal (key: Uint8Array, frame: Uint8Array, n: bigint): Buffer {
  const nonce = Buffer.alloc(12)
  nonce.writeBigUInt64LE(n, 4)
  const c = crypto.createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 })
  return Buffer.concat([c.update(frame), c.final(), c.getAuthTag()])
}

/** `frames` plaintext frames laid out for sealing, with the given data lengths. */
function layout (lengths: number[]): Buffer {
  const buf = crypto.randomBytes(lengths.length * SEALED_FRAME_SIZE)
  lengths.forEach((n, i) => buf.writeUInt32LE(n, i * SEALED_FRAME_SIZE))
  return buf
}

describe('batched frame AEAD', () => {
  it('has the native batch implementation exactly where install could build it (always in CI)', () => {
    // The install script's conditions: a C compiler and Node's headers (node_api.h).
    const include = [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node', '/usr/local/include/node']
    const headers = include.some(d => existsSync(join(d, 'node_api.h')))
    const compiler = spawnSync(process.env.CC ?? 'cc', ['--version']).status === 0
    const buildable = process.env.CI === 'true' || (headers && compiler && process.platform !== 'win32' && process.env.SWITCHYARD_AEAD_NATIVE !== 'skip')
    expect(availableAeads().includes('native')).toBe(buildable)
    expect(availableAeads().slice(-1)).toEqual(['node:crypto'])
  })

  for (const name of availableAeads()) {
    it(`seals a batch exactly as node:crypto seals each frame, carrying the counter across 2^32 (${name})`, () => {
      const key = crypto.randomBytes(32)
      const lengths = [1024, 1024, 17, 0, 1024]
      const buf = layout(lengths)
      const plain = Buffer.from(buf)
      const lo = 0xfffffffe
      const hi = 3
      createAead(key, name, true).sealFrames(buf, lengths.length, lo, hi)
      for (let i = 0; i < lengths.length; i++) {
        const at = i * SEALED_FRAME_SIZE
        const expected = referenceSeal(key, plain.subarray(at, at + 1028), (BigInt(hi) << 32n) + BigInt(lo) + BigInt(i))
        expect(buf.subarray(at, at + SEALED_FRAME_SIZE).equals(expected)).toBe(true)
      }
    })

    it(`opens a batch and packs the frames' data to the front (${name})`, () => {
      const key = crypto.randomBytes(32)
      const lengths = [1024, 3, 1024, 500]
      const buf = layout(lengths)
      const plain = Buffer.from(buf)
      createAead(key, name, true).sealFrames(buf, lengths.length, 7, 0)
      const n = createAead(key, name, false).openFrames(buf, lengths.length, 7, 0)
      expect(n).toBe(1024 + 3 + 1024 + 500)
      const expected = Buffer.concat(lengths.map((len, i) => plain.subarray(i * SEALED_FRAME_SIZE + 4, i * SEALED_FRAME_SIZE + 4 + len)))
      expect(buf.subarray(0, n).equals(expected)).toBe(true)
    })

    it(`reports which frame of a batch fails authentication or declares > 1024 bytes (${name})`, () => {
      const key = crypto.randomBytes(32)
      const sealer = createAead(key, name, true)
      const opener = createAead(key, name, false)
      const tampered = layout([1024, 1024, 1024])
      sealer.sealFrames(tampered, 3, 0, 0)
      tampered[2 * SEALED_FRAME_SIZE + 100]! ^= 1
      expect(opener.openFrames(tampered, 3, 0, 0)).toBe(-(2 * 2 + 1))
      const tooLong = layout([1024, 1025])
      sealer.sealFrames(tooLong, 2, 0, 0)
      expect(opener.openFrames(tooLong, 2, 0, 0)).toBe(-(2 * 1 + 2))
      // A wrong starting counter fails the first frame.
      const good = layout([10])
      sealer.sealFrames(good, 1, 5, 0)
      expect(opener.openFrames(good, 1, 6, 0)).toBe(-1)
    })

    it(`seals and opens single frames like node:crypto (${name})`, () => {
      const key = crypto.randomBytes(32)
      const frame = layout([300]).subarray(0, 1028)
      const nonce = new Uint8Array(12)
      nonce[4] = 9
      const sealed = new Uint8Array(SEALED_FRAME_SIZE)
      createAead(key, name, true).seal(sealed, frame, nonce)
      expect(Buffer.from(sealed).equals(referenceSeal(key, frame, 9n))).toBe(true)
      const opened = new Uint8Array(1028)
      expect(createAead(key, name, false).open(opened, sealed, nonce)).toBe(true)
      expect(Buffer.from(opened).equals(frame)).toBe(true)
      sealed[5]! ^= 1
      expect(createAead(key, name, false).open(opened, sealed, nonce)).toBe(false)
    })
  }
})

describe('frame layout', () => {
  it('places stream bytes at their frame positions and fills lengths and padding', () => {
    const data = crypto.randomBytes(2500)
    const out = Buffer.alloc(framedSize(data.length), 0xee)
    expect(out.length).toBe(3 * SEALED_FRAME_SIZE)
    // Written in uneven pieces, as packets are, including pieces of a few bytes.
    let p = 0
    for (const cut of [3, 700, 1030, 1031, 2047, 2500]) p = copyFramed(out, p, data, p, cut)
    expect(p).toBe(2500)
    expect(finishFrames(out, 2500)).toBe(3)
    expect(framedOffset(1024)).toBe(SEALED_FRAME_SIZE + 4)
    expect(out.readUInt32LE(0)).toBe(1024)
    expect(out.readUInt32LE(SEALED_FRAME_SIZE)).toBe(1024)
    expect(out.readUInt32LE(2 * SEALED_FRAME_SIZE)).toBe(452)
    const back = Buffer.concat([0, 1, 2].map(i => out.subarray(i * SEALED_FRAME_SIZE + 4, i * SEALED_FRAME_SIZE + 4 + (i < 2 ? 1024 : 452))))
    expect(back.equals(data)).toBe(true)
    const tail = out.subarray(2 * SEALED_FRAME_SIZE + 4 + 452, 2 * SEALED_FRAME_SIZE + 1028)
    expect(tail.every(b => b === 0)).toBe(true)
  })
})

describe('SWITCHYARD_AEAD', () => {
  const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url))
  const run = (value: string): ReturnType<typeof spawnSync> => spawnSync(process.execPath, [
    '--input-type=module', '-e', `const c = await import(${JSON.stringify(dist)}); console.log(c.defaultAead)`
  ], { env: { ...process.env, SWITCHYARD_AEAD: value }, encoding: 'utf8' })

  it('picks the default implementation, and refuses one that is not there', () => {
    expect(existsSync(dist), 'build first (tsc -b)').toBe(true)
    for (const name of availableAeads()) expect(String(run(name).stdout).trim()).toBe(name)
    expect(String(run('node').stdout).trim()).toBe('node:crypto')
    const bad = run('rot13')
    expect(bad.status).not.toBe(0)
    expect(String(bad.stderr)).toContain('SWITCHYARD_AEAD=rot13 but that implementation is not available')
  })
})
