import { afterEach, describe, expect, it } from 'vitest'
import crypto from 'node:crypto'
import { readFileSync } from 'node:fs'
import type net from 'node:net'
import {
  MConnection, Transcript, availableAeads, createAead, deriveSecrets, ephemeralKeys, secretHandshake,
  SecretConnection, FrameNonce, SEALED_FRAME_SIZE, copyFramed, framedSize, x25519, type HandshakeIdentity
} from '@switchyard/conn'
import { collectMessages, nextEvent, patternBytes, socketPair, waitFor } from '../../../test/helpers.js'
import { hex, readVector, toHex, vectorsDir } from '../../../test/vectors.js'

const gen = readVector('cometbft/generated-v0.37.18.json')
const sc = gen.secret_connection
const sockets: Array<net.Socket | SecretConnection | MConnection> = []
afterEach(() => { for (const s of sockets.splice(0)) s instanceof MConnection ? s.close() : s.destroy() })

function identity (seed: Uint8Array = crypto.randomBytes(32)): HandshakeIdentity {
  const privateKey = crypto.createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' })
  const publicKey = Buffer.from(crypto.createPublicKey(privateKey).export({ format: 'jwk' }).x!, 'base64url')
  return { publicKey, sign: m => crypto.sign(null, m, privateKey) }
}

async function pair (): Promise<[net.Socket, net.Socket]> {
  const p = await socketPair()
  sockets.push(...p)
  return p
}

describe('Merlin transcript', () => {
  const v = readVector('merlin.json')
  it('passes the simple published vector', () => {
    const t = new Transcript(v.simple.transcript)
    t.appendMessage(v.simple.steps[0].label, v.simple.steps[0].message_utf8)
    expect(toHex(t.challengeBytes('challenge', 32))).toBe(v.simple.steps[1].expect_hex)
  })
  it('passes the complex published vector', () => {
    const t = new Transcript(v.complex.transcript)
    t.appendMessage('step1', 'some data')
    const data = new Uint8Array(1024).fill(0x63)
    let c: Uint8Array = new Uint8Array(0)
    for (let i = 0; i < 32; i++) {
      c = t.challengeBytes('challenge', 32)
      t.appendMessage('bigdata', data)
      t.appendMessage('challengedata', c)
    }
    expect(toHex(c)).toBe(v.complex.expect_hex)
  })
  it('transcripts with the same label start from copies: one\'s messages never reach another', () => {
    const simple = (t: Transcript): string => {
      t.appendMessage(v.simple.steps[0].label, v.simple.steps[0].message_utf8)
      return toHex(t.challengeBytes('challenge', 32))
    }
    const [first, second, third] = [0, 1, 2].map(() => new Transcript(v.simple.transcript)) as [Transcript, Transcript, Transcript]
    for (const t of [first, second]) {
      t.appendMessage('noise', 'changes only this transcript')
      t.challengeBytes('more noise', 64)
    }
    expect(simple(third)).toBe(v.simple.steps[1].expect_hex)
    expect(simple(new Transcript(new TextEncoder().encode(v.simple.transcript)))).toBe(v.simple.steps[1].expect_hex)
    expect(simple(first)).not.toBe(v.simple.steps[1].expect_hex)
  })
})

describe('key derivation', () => {
  it('matches all 32 lines of CometBFT\'s golden file', () => {
    const lines = readFileSync(vectorsDir + 'cometbft/derive-secrets.golden.csv', 'utf8').trim().split('\n')
    expect(lines.length).toBe(32)
    for (const line of lines) {
      const [dh, least, recv, send] = line.split(',')
      const keys = deriveSecrets(hex(dh!), least === 'true')
      expect(toHex(keys.recvKey)).toBe(recv)
      expect(toHex(keys.sendKey)).toBe(send)
    }
  })
})

describe('SecretConnection handshake', () => {
  it('reproduces the handshake recorded from CometBFT byte for byte', async () => {
    const [ours, theirs] = await pair()
    const written: Buffer[] = []
    theirs.on('data', (c: Buffer) => written.push(c))
    // Play B: its ephemeral key, its AuthSig frame, then two frames of application data.
    theirs.write(hex(sc.b_eph_msg_sent))
    theirs.write(hex(sc.b_auth_sig_frames[0]))
    const conn = await secretHandshake(ours, identity(hex(sc.a.ed25519_seed)), { ephemeralPrivateKey: hex(sc.a.x25519_eph_priv) })
    sockets.push(conn)
    expect(toHex(conn.remotePublicKey!)).toBe(sc.b.ed25519_pub_key)
    const received: Buffer[] = []
    conn.on('data', (c: Buffer) => received.push(c))
    for (const f of sc.b_then_sends_frames) theirs.write(hex(f))
    conn.write(hex(sc.a_then_sends_plaintext_hex))
    const expectedOut = sc.a_eph_msg_sent + sc.a_auth_sig_frames[0] + sc.a_then_sends_frames[0]
    await waitFor(() => toHex(Buffer.concat(written)).length >= expectedOut.length, 5000, 'A\'s bytes')
    const out = toHex(Buffer.concat(written))
    // Key message and the AuthSig frame are identical to CometBFT's bytes.
    const handshakeLen = (sc.a_eph_msg_sent + sc.a_auth_sig_frames[0]).length
    expect(out.slice(0, handshakeLen)).toBe(expectedOut.slice(0, handshakeLen))
    // The 'hello' frame: Go reuses its frame buffer, so its padding holds leftovers of the previous
    // frame while ours is zeros. The length and data bytes (4 + 5) must still encrypt identically.
    expect(out.length).toBe(expectedOut.length)
    expect(out.slice(handshakeLen, handshakeLen + 18)).toBe(expectedOut.slice(handshakeLen, handshakeLen + 18))
    await waitFor(() => Buffer.concat(received).length >= 1500, 5000, 'B\'s 1500 bytes')
    const data = Buffer.concat(received)
    expect(data.length).toBe(1500)
    expect(data.every((b, i) => b === i % 256)).toBe(true)
  })

  for (const aead of availableAeads()) {
    it(`connects two endpoints and carries MConnection traffic (${aead})`, async () => {
      const [sa, sb] = await pair()
      const ida = identity()
      const idb = identity()
      const [a, b] = await Promise.all([secretHandshake(sa, ida, { aead }), secretHandshake(sb, idb, { aead })])
      expect(a.aead).toBe(aead)
      expect(toHex(a.remotePublicKey!)).toBe(toHex(idb.publicKey))
      expect(toHex(b.remotePublicKey!)).toBe(toHex(ida.publicKey))
      const channels = [{ id: 1, priority: 1, sendQueueCapacity: 100 }, { id: 2, priority: 5, sendQueueCapacity: 100 }]
      const ma = new MConnection(a, { channels })
      const mb = new MConnection(b, { channels })
      sockets.push(ma, mb)
      const got = collectMessages(mb)
      const msgs = [0, 1, 1023, 1024, 1025, 4096, 200_000].map((n, i) => patternBytes(n, i + 1))
      for (const [i, m] of msgs.entries()) expect(await ma.send(1 + (i % 2), m)).toBe(true)
      await waitFor(() => got.length === msgs.length)
      for (const ch of [1, 2]) {
        expect(got.filter(g => g.ch === ch).map(g => toHex(g.data))).toEqual(msgs.filter((_, i) => 1 + (i % 2) === ch).map(toHex))
      }
      const echo = collectMessages(ma)
      mb.trySend(2, Buffer.from('back'))
      await waitFor(() => echo.length === 1)
      // Graceful stop through the encrypted stream delivers what was queued.
      for (let i = 0; i < 50; i++) ma.trySend(1, patternBytes(3000, i))
      await ma.stop()
      await waitFor(() => got.length === msgs.length + 50)
    })
  }

  it('MConnection encodes straight into frame layout: SecretConnection.writeFramed carries every batch', async () => {
    const [sa, sb] = await pair()
    const [a, b] = await Promise.all([secretHandshake(sa, identity()), secretHandshake(sb, identity())])
    let framedCalls = 0
    let plainWrites = 0
    const realFramed = a.writeFramed.bind(a)
    a.writeFramed = (buf, n) => { framedCalls++; return realFramed(buf, n) }
    const realWrite = a.write.bind(a) as (c: Buffer) => boolean
    ;(a as unknown as { write: (c: Buffer) => boolean }).write = c => { plainWrites++; return realWrite(c) }
    const channels = [{ id: 1, priority: 1, sendQueueCapacity: 100 }]
    const ma = new MConnection(a, { channels })
    const mb = new MConnection(b, { channels })
    sockets.push(ma, mb)
    const got = collectMessages(mb)
    const msgs = [5, 1024, 1500, 70_000].map((n, i) => patternBytes(n, i + 7))
    for (const m of msgs) expect(await ma.send(1, m)).toBe(true)
    await waitFor(() => got.length === msgs.length)
    expect(got.map(g => toHex(g.data))).toEqual(msgs.map(toHex))
    expect(framedCalls).toBeGreaterThan(0)
    expect(plainWrites).toBe(0)
  })

  it('reuses batch buffers once the socket has written them, and every byte still arrives intact', async () => {
    const [sa, sb] = await pair()
    const [a, b] = await Promise.all([secretHandshake(sa, identity()), secretHandshake(sb, identity())])
    const handedOut = new Set<Buffer>()
    let batches = 0
    const realBuffer = a.framedBuffer.bind(a)
    a.framedBuffer = n => { const buf = realBuffer(n); if (buf.length > 8192) { handedOut.add(buf); batches++ } return buf }
    const channels = [{ id: 1, priority: 1, sendQueueCapacity: 16 }]
    const ma = new MConnection(a, { channels })
    const mb = new MConnection(b, { channels })
    sockets.push(ma, mb)
    const got = collectMessages(mb)
    const msgs = Array.from({ length: 128 }, (_, i) => patternBytes(65536, i))
    for (const m of msgs) if (!ma.trySend(1, m)) expect(await ma.send(1, m)).toBe(true)
    await waitFor(() => got.length === msgs.length, 15_000)
    for (const [i, m] of msgs.entries()) expect(Buffer.compare(got[i]!.data, m)).toBe(0)
    expect(batches).toBeGreaterThanOrEqual(100)
    expect(handedOut.size).toBeLessThanOrEqual(4)
  })

  it('takes a batch buffer back at once when the socket wrote all of it, so a burst of batches reuses one', async () => {
    const [sa, sb] = await pair()
    const [a, b] = await Promise.all([secretHandshake(sa, identity()), secretHandshake(sb, identity())])
    sockets.push(a, b)
    const received: Buffer[] = []
    b.on('data', (c: Buffer) => received.push(c))
    const handedOut = new Set<Buffer>()
    const sent: Buffer[] = []
    // Eight 8 KiB batches in one synchronous run (no tick for write callbacks), 70 KB in all: the
    // kernel takes each at once on loopback.
    for (let i = 0; i < 8; i++) {
      const data = patternBytes(8192, i + 1)
      const buf = a.framedBuffer(data.length)
      handedOut.add(buf)
      copyFramed(buf, 0, data, 0, data.length)
      expect(a.writeFramed(buf, data.length)).toBe(true)
      expect(sa.writableLength).toBe(0)
      sent.push(data)
    }
    expect(handedOut.size).toBe(1)
    await waitFor(() => Buffer.concat(received).length >= 8 * 8192)
    expect(Buffer.compare(Buffer.concat(received), Buffer.concat(sent))).toBe(0)
  })

  it('writeFramed keeps order behind bytes still queued by write()', async () => {
    const [sa, sb] = await pair()
    const [a, b] = await Promise.all([secretHandshake(sa, identity()), secretHandshake(sb, identity())])
    sockets.push(a, b)
    const received: Buffer[] = []
    b.on('data', (c: Buffer) => received.push(c))
    a.cork()
    a.write(Buffer.from('first|'))
    const framed = Buffer.alloc(framedSize(2000))
    const second = patternBytes(2000, 3)
    copyFramed(framed, 0, second, 0, second.length)
    a.writeFramed(framed, second.length)
    a.uncork()
    await waitFor(() => Buffer.concat(received).length >= 2006)
    expect(toHex(Buffer.concat(received))).toBe(toHex(Buffer.concat([Buffer.from('first|'), second])))
  })

  for (const aead of availableAeads()) {
    it(`fails with ERR_FRAME_AUTH when a ciphertext byte is tampered with (${aead})`, async () => {
      const [sa, sb] = await pair()
      const [a, b] = await Promise.all([secretHandshake(sa, identity(), { aead }), secretHandshake(sb, identity(), { aead })])
      sockets.push(a, b)
      // Rewrite one byte of A's next frame on its way out.
      const realWrite = sa.write.bind(sa) as (chunk: Buffer) => boolean
      ;(sa as unknown as { write: (c: Buffer) => boolean }).write = (chunk: Buffer) => {
        const copy = Buffer.from(chunk); copy[10]! ^= 0x01; return realWrite(copy)
      }
      a.write(Buffer.from('hello'))
      const [err] = await nextEvent<[Error]>(b, 'error')
      expect(err).toMatchObject({ code: 'ERR_FRAME_AUTH' })
    })

    it(`fails with ERR_FRAME_TOO_LONG on an authentic frame declaring more than 1024 bytes (${aead})`, async () => {
      const [raw, sb] = await pair()
      const key = crypto.randomBytes(32)
      const b = new SecretConnection(sb, { sendKey: key, recvKey: key, aead })
      sockets.push(b)
      const frame = Buffer.alloc(1028)
      frame.writeUInt32LE(1025, 0)
      const sealed = Buffer.alloc(SEALED_FRAME_SIZE)
      createAead(key).seal(sealed, frame, new FrameNonce(0n).bytes)
      raw.write(sealed)
      const [err] = await nextEvent<[Error]>(b, 'error')
      expect(err).toMatchObject({ code: 'ERR_FRAME_TOO_LONG' })
    })

    it(`ends the connection instead of wrapping the nonce counter (${aead})`, async () => {
      const [sa] = await pair()
      const [raw, sb] = await pair()
      const a = new SecretConnection(sa, { sendKey: new Uint8Array(32), recvKey: new Uint8Array(32), sendNonce: 2n ** 64n - 1n, aead })
      const b = new SecretConnection(sb, { sendKey: new Uint8Array(32), recvKey: new Uint8Array(32), recvNonce: 2n ** 64n - 1n, aead })
      sockets.push(a, b)
      const errA = nextEvent<[Error]>(a, 'error')
      a.write(Buffer.from('x'))
      expect((await errA)[0]).toMatchObject({ code: 'ERR_NONCE_OVERFLOW' })
      const errB = nextEvent<[Error]>(b, 'error')
      const sealed = Buffer.alloc(SEALED_FRAME_SIZE)
      createAead(new Uint8Array(32)).seal(sealed, Buffer.alloc(1028), new FrameNonce(2n ** 64n - 1n).bytes)
      raw.write(sealed)
      expect((await errB)[0]).toMatchObject({ code: 'ERR_NONCE_OVERFLOW' })
    })
  }

  it('times out with ERR_HANDSHAKE_TIMEOUT against a peer that never answers', async () => {
    const [sa] = await pair()
    await expect(secretHandshake(sa, identity(), { timeout: 100 })).rejects.toMatchObject({ code: 'ERR_HANDSHAKE_TIMEOUT', stage: 'the ephemeral key exchange' })
    expect(sa.destroyed).toBe(true)
  })

  it('times out in the authentication stage when the peer stops after its key', async () => {
    const [sa, sb] = await pair()
    sb.write(Buffer.concat([Buffer.from('220a20', 'hex'), ephemeralKeys().publicKey]))
    await expect(secretHandshake(sa, identity(), { timeout: 150 })).rejects.toMatchObject({ code: 'ERR_HANDSHAKE_TIMEOUT', stage: 'authentication' })
  })

  it('is cancelled by an AbortSignal', async () => {
    const [sa] = await pair()
    const ac = new AbortController()
    const p = secretHandshake(sa, identity(), { signal: ac.signal, timeout: 10_000 })
    ac.abort()
    await expect(p).rejects.toMatchObject({ code: 'ERR_ABORTED', name: 'AbortError' })
    expect(sa.destroyed).toBe(true)
  })

  it('fails with ERR_CONNECTION_CLOSED on a truncated handshake', async () => {
    const [sa, sb] = await pair()
    sb.end(Buffer.from('220a20aabb', 'hex'))
    await expect(secretHandshake(sa, identity())).rejects.toMatchObject({ code: 'ERR_CONNECTION_CLOSED' })
  })

  const garbage: Array<[string, string, string]> = [
    ['garbage instead of a key', 'ff'.repeat(12), 'ERR_BAD_EPHEMERAL_KEY'],
    ['an oversized key message', 'ffff03', 'ERR_BAD_EPHEMERAL_KEY'],
    ['a 31-byte key', '210a1f' + '11'.repeat(31), 'ERR_BAD_EPHEMERAL_KEY'],
    ['a low-order (zero) key', '220a20' + '00'.repeat(32), 'ERR_LOW_ORDER_KEY'],
    ['a low-order (order 8) key', '220a20' + 'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', 'ERR_LOW_ORDER_KEY']
  ]
  for (const [what, bytes, code] of garbage) {
    it(`refuses ${what} with ${code}`, async () => {
      const [sa, sb] = await pair()
      sb.on('data', () => {})
      sb.write(hex(bytes))
      await expect(secretHandshake(sa, identity())).rejects.toMatchObject({ code })
      expect(sa.destroyed).toBe(true)
    })
  }

  it('refuses a peer whose signature does not verify (ERR_BAD_SIGNATURE)', async () => {
    const [sa, sb] = await pair()
    const honest = identity()
    const liar: HandshakeIdentity = { publicKey: identity().publicKey, sign: m => honest.sign(m) }
    const results = await Promise.allSettled([secretHandshake(sa, identity()), secretHandshake(sb, liar)])
    expect(results[0]).toMatchObject({ status: 'rejected', reason: { code: 'ERR_BAD_SIGNATURE' } })
  })

  it('refuses a non-ed25519 identity key (ERR_UNSUPPORTED_KEY_TYPE)', async () => {
    const [sa, sb] = await pair()
    // Run B's side by hand so it can send a secp256k1 key in its AuthSigMessage.
    const ours = secretHandshake(sa, identity())
    const eph = ephemeralKeys()
    sb.write(Buffer.concat([Buffer.from('220a20', 'hex'), eph.publicKey]))
    const theirEph = await new Promise<Buffer>(resolve => sb.once('data', (c: Buffer) => resolve(c.subarray(3, 35))))
    const least = Buffer.compare(eph.publicKey, theirEph) < 0
    const keys = deriveSecrets(x25519(eph.privateKey, theirEph), least)
    const b = new SecretConnection(sb, keys)
    sockets.push(b)
    // AuthSigMessage{pub_key{secp256k1: 33 bytes}, sig: 64 bytes}
    const body = Buffer.concat([Buffer.from('0a23122102', 'hex'), Buffer.alloc(32, 7), Buffer.from('1240', 'hex'), Buffer.alloc(64, 1)])
    b.write(Buffer.concat([Buffer.from([body.length]), body]))
    await expect(ours).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED_KEY_TYPE', keyType: 'secp256k1' })
  })
})

