/**
 * The page's chat member: a Switchyard node in the tab that joins the chat network of
 * examples/chat by dialing a Node member's ws:// address. Its identity is kept in IndexedDB
 * (node_key.json text), so the tab has the same node ID on every visit.
 */
import { NodeKey, Switch, browserWebSocketTransport, exportNodeKey, loadOrCreateStoredNodeKey } from '@switchyard/browser'
import { ChatReactor } from '@switchyard/example-chat'

export interface BrowserChatOptions {
  name: string
  /** The Node member to join through: ws://<id>@host:port */
  join: string
  network?: string
  /** Use a fresh identity instead of the stored one (several test tabs on one origin). */
  freshKey?: boolean
}

export interface BrowserChat {
  readonly chat: ChatReactor
  readonly sw: Switch
  readonly nodeId: string
  say: (text: string) => Promise<number>
  leave: () => Promise<void>
  exportKey: () => string
}

export async function joinChat (options: BrowserChatOptions): Promise<BrowserChat> {
  const nodeKey = options.freshKey === true ? NodeKey.generate() : await loadOrCreateStoredNodeKey('browser-chat')
  // A tab cannot be dialed: it announces no address, and the member it joins through relays.
  const chat = new ChatReactor(options.name, { address: () => '' })
  const sw = new Switch({ nodeKey, network: options.network ?? 'switchyard-chat', moniker: options.name, dialJitter: 0, allowDuplicateIp: true })
  sw.addReactor('chat', chat)
  browserWebSocketTransport(sw)
  await sw.start()
  await sw.dial(options.join)
  return {
    chat,
    sw,
    nodeId: nodeKey.id,
    say: async text => await chat.say(text),
    leave: async () => { await sw.stop() },
    exportKey: () => exportNodeKey(nodeKey)
  }
}
