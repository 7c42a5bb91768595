/**
 * A hostile peer for tests: a raw TCP connection scripted to misbehave at any layer — stall the
 * handshake, send garbage or oversized lengths, replay or tamper with encrypted frames, claim
 * another node's ID, or complete the handshake and then flood channels and PEX.
 */
import net from 'node:net'
import { MConnection, secretHandshake, DelimitedReader, type SecretConnection } from '@switchyard/conn'
import { NodeKey, makeNodeInfo } from '@switchyard/p2p'
import { decodeNodeInfo, encodeDelimited, encodeNodeInfo, type NodeInfo } from '@switchyard/wire'

export interface HostileOptions {
  /** Source IP (distinct 127.x.y.z addresses let tests exercise per-IP rules). */
  localAddress?: string
}

export class HostilePeer {
  readonly socket: net.Socket
  /** Every chunk this peer wrote to the socket, in order (sealed frames after the handshake). */
  readonly written: Buffer[] = []
  secret: SecretConnection | undefined
  mconn: MConnection | undefined
  theirNodeInfo: NodeInfo | undefined
  private readonly closedPromise: Promise<void>

  private constructor (socket: net.Socket) {
    this.socket = socket
    const write = socket.write.bind(socket) as (chunk: Buffer) => boolean
    ;(socket as unknown as { write: (c: Buffer) => boolean }).write = (chunk: Buffer) => { this.written.push(Buffer.from(chunk)); return write(chunk) }
    socket.on('error', () => {})
    this.closedPromise = new Promise(resolve => socket.once('close', () => resolve()))
  }

  static async connect (host: string, port: number, o: HostileOptions = {}): Promise<HostilePeer> {
    const socket = net.connect({ host, port, ...(o.localAddress !== undefined ? { localAddress: o.localAddress } : {}) })
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
    return new HostilePeer(socket)
  }

  /** Resolves when the victim has closed the connection. */
  get closed (): Promise<void> {
    return this.closedPromise
  }

  get isClosed (): boolean {
    return this.socket.destroyed
  }

  /** Raw bytes, before or instead of a handshake. */
  sendRaw (bytes: Uint8Array): void {
    this.socket.write(Buffer.from(bytes))
  }

  /** Slowloris: one byte of a valid-looking key message every `intervalMs`, until closed. */
  trickle (intervalMs: number): void {
    const bytes = Buffer.concat([Buffer.from('220a20', 'hex'), Buffer.alloc(32, 9)])
    let i = 0
    const t = setInterval(() => {
      if (this.socket.destroyed || i >= bytes.length) { clearInterval(t); return }
      this.socket.write(bytes.subarray(i, ++i))
    }, intervalMs)
  }

  /**
   * Completes the SecretConnection and NodeInfo exchange honestly (with `nodeInfo` overrides, for
   * example another node's ID), leaving an MConnection with the given channel ids for abuse.
   */
  async handshake (o: { network: string, nodeKey?: NodeKey, channels?: number[], nodeInfo?: Partial<NodeInfo> }): Promise<void> {
    const key = o.nodeKey ?? NodeKey.generate()
    const secret = await secretHandshake(this.socket, key, { timeout: 5000 })
    this.secret = secret
    const channels = o.channels ?? [0x00, 0x60]
    const info = { ...makeNodeInfo({ nodeId: key.id, network: o.network, listenAddr: 'tcp://127.0.0.1:1', moniker: 'hostile', channels }), ...o.nodeInfo }
    const reader = new DelimitedReader(secret)
    secret.write(encodeDelimited(encodeNodeInfo(info)))
    this.theirNodeInfo = decodeNodeInfo(await reader.read(10240, 'NodeInfo'))
    reader.release()
    this.mconn = new MConnection(secret, { channels: channels.map(id => ({ id, priority: 1, sendQueueCapacity: 1000, recvMessageCapacity: 1 << 24 })), pacing: false }) // an attacker writes as fast as the socket takes it
    this.mconn.on('message', () => {})
  }

  /** Writes an already-sent frame again (a replay). */
  replayFrame (index: number): void {
    const frame = this.written[index]
    if (frame === undefined) throw new RangeError(`no frame ${index} was written`)
    this.socket.write(frame)
  }

  /** Writes a copy of an earlier frame with one bit flipped. */
  tamperFrame (index: number): void {
    const frame = Buffer.from(this.written[index]!)
    frame[frame.length >> 1]! ^= 0x01
    this.socket.write(frame)
  }

  destroy (): void {
    this.mconn?.close()
    this.socket.destroy()
  }
}
