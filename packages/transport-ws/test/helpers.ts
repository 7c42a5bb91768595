import http from 'node:http'
import { NodeKey, Reactor, Switch, channel, type Channel, type Envelope, type SwitchOptions } from '@switchyard/p2p'
import { webSocketTransport, type WebSocketTransport, type WebSocketTransportOptions } from '@switchyard/transport-ws'

export const CHAT = channel({ id: 0x40, priority: 5, sendQueueCapacity: 100 })

/** Records every message with its sender. */
export class Recorder extends Reactor {
  readonly channels: Array<Channel<any>> = [CHAT]
  readonly received: Array<{ from: string, text: string }> = []
  readonly bytes: Buffer[] = []
  override receive (env: Envelope<Uint8Array>): void {
    this.bytes.push(Buffer.from(env.message))
    this.received.push({ from: env.peer.id, text: Buffer.from(env.message).toString() })
  }
}

export interface TestNode { sw: Switch, ws: WebSocketTransport, rec: Recorder, wsAddress: string | undefined }

const started: TestNode[] = []

export async function stopAll (): Promise<void> {
  await Promise.all(started.splice(0).map(async n => { await n.sw.stop() }))
}

/** A started Switch on 127.0.0.1: TCP listener unless tcp is false, WebSocket listener when ws.listen is set. */
export async function startNode (options: { tcp?: boolean, ws?: WebSocketTransportOptions, switch?: Partial<SwitchOptions> } = {}): Promise<TestNode> {
  const sw = new Switch({
    nodeKey: NodeKey.generate(),
    network: 'ws-test',
    ...(options.tcp !== false ? { listenAddress: 'tcp://127.0.0.1:0' } : {}),
    allowDuplicateIp: true,
    dialJitter: 0,
    ...options.switch
  })
  const rec = new Recorder()
  sw.addReactor('rec', rec)
  const ws = webSocketTransport(sw, options.ws ?? {})
  await sw.start()
  const wsAddress = await ws.listen()
  const n = { sw, ws, rec, wsAddress }
  started.push(n)
  return n
}

/** http://127.0.0.1:port from a ws:// address. */
export function httpBase (wsAddress: string): string {
  return `http://${wsAddress.split('@')[1]!}`
}

/**
 * Sends a WebSocket upgrade request for /ws by hand and reports what came back: the HTTP status,
 * and whether the server switched protocols (an 'upgrade' event) or not.
 */
export async function rawUpgrade (wsAddress: string, headers: Record<string, string>): Promise<{ status: number, upgraded: boolean }> {
  const [host, port] = wsAddress.split('@')[1]!.split(':') as [string, string]
  return await new Promise((resolve, reject) => {
    const req = http.request({
      host, port: Number(port), path: '/ws', method: 'GET',
      headers: {
        Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', ...headers
      }
    })
    req.on('upgrade', (res, socket) => { socket.destroy(); resolve({ status: res.statusCode ?? 0, upgraded: true }) })
    req.on('response', res => { res.resume(); resolve({ status: res.statusCode ?? 0, upgraded: false }) })
    req.on('error', reject)
    req.end()
  })
}
