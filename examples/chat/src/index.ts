/**
 * The chat reactor. Joining through one member is enough: every member tells a newcomer who else
 * is in the room, and tells the room about the newcomer (Members); whoever learns of a member it
 * is not connected to dials it. Lines go to everyone (broadcast) or to one
 * member; leaving is a graceful Switch stop, which every member sees at once as removePeer.
 */
import { EventEmitter } from 'node:events'
import { Reactor, channel, peerDataKey, type Envelope, type Peer, type RemoveReason } from '@switchyard/p2p'
import { ChatMessageType, type ChatMessage } from './messages.js'

export { ChatMessageType, type ChatMessage } from './messages.js'

export const ChatChannel = channel<ChatMessage>({ id: 0x60, priority: 5, sendQueueCapacity: 100, recvMessageCapacity: 64 * 1024, message: ChatMessageType })

const Name = peerDataKey<string>('chat.name')
const Address = peerDataKey<string>('chat.address')

export interface ChatEvents {
  joined: [name: string, peer: Peer]
  left: [name: string, reason: RemoveReason]
  line: [from: string, text: string, direct: boolean]
}

export class ChatReactor extends Reactor {
  readonly channels = [ChatChannel]
  readonly events = new EventEmitter<ChatEvents>()
  readonly name: string
  private readonly announced = new Set<string>()
  private readonly ownAddress: (() => string) | undefined

  /** `address`: what members should dial to reach us (default: the Switch's TCP address; a ws:// one over WebSocket). */
  constructor (name: string, options: { address?: () => string } = {}) {
    super()
    this.name = name
    this.ownAddress = options.address
  }

  /** Members by name (those that said Hello). */
  members (): Map<string, Peer> {
    const m = new Map<string, Peer>()
    for (const p of this.switch.peers.values()) {
      const n = p.get(Name)
      if (n !== undefined) m.set(n, p)
    }
    return m
  }

  override addPeer (peer: Peer): void {
    peer.trySend(ChatChannel, { hello: { name: this.name, address: this.ownAddress?.() ?? this.switch.address } })
    const known = [...this.switch.peers.values()].map(p => p.get(Address)).filter((a): a is string => a !== undefined)
    peer.trySend(ChatChannel, { members: { addresses: known } })
  }

  override removePeer (peer: Peer, reason: RemoveReason): void {
    const name = peer.get(Name)
    // A connection replaced by a simultaneous one is not a member leaving.
    if (name !== undefined && reason?.code !== 'ERR_DUPLICATE_PEER') {
      this.announced.delete(peer.id)
      this.events.emit('left', name, reason)
    }
  }

  override receive ({ peer, message }: Envelope<ChatMessage>): void {
    if (message.hello != null) {
      peer.set(Name, message.hello.name)
      peer.set(Address, message.hello.address)
      if (!this.announced.has(peer.id)) {
        this.announced.add(peer.id)
        this.events.emit('joined', message.hello.name, peer)
      }
      // Introduce the newcomer to everyone else: members who joined at the same moment would
      // otherwise miss each other (each one's Members list was sent before the other's Hello).
      for (const other of this.switch.peers.values()) {
        if (other !== peer) other.trySend(ChatChannel, { members: { addresses: [message.hello.address] } })
      }
    } else if (message.members != null) {
      for (const address of message.members.addresses) {
        const id = address.replace(/^[a-z]+:\/\//, '').split('@')[0] ?? ''
        if (id === this.switch.nodeKey.id || this.switch.isDialingOrConnected(id)) continue
        this.switch.dial(address).catch(() => { /* already connected from the other side, or gone */ })
      }
    } else if (message.text != null) {
      this.events.emit('line', peer.get(Name) ?? peer.id.slice(0, 8), message.text.text, message.text.direct === true)
    }
  }

  /** To everyone; resolves with how many members it was queued for. */
  async say (text: string): Promise<number> {
    const results = await this.switch.broadcast(ChatChannel, { text: { text } })
    return [...results.values()].filter(Boolean).length
  }

  /** To one member by name; false when there is no such member. */
  async whisper (name: string, text: string): Promise<boolean> {
    const peer = this.members().get(name)
    return peer !== undefined && await peer.send(ChatChannel, { text: { text, direct: true } })
  }
}
