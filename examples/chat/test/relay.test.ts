/**
 * Members that cannot be dialed (browser tabs announce an empty address) reach only the member they
 * joined through, which relays their lines and the room's lines to them, once each. Run here with
 * Node members only; examples/browser-chat's test runs it with a real Chromium tab.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { NodeKey, Switch } from '@switchyard/p2p'
import { waitFor } from '@switchyard/testing'
import { ChatReactor } from '@switchyard/example-chat'

const switches: Switch[] = []
afterEach(async () => { await Promise.all(switches.splice(0).map(async s => { await s.stop() })) })

async function member (name: string, i: number, undialable = false): Promise<{ sw: Switch, chat: ChatReactor, heard: string[] }> {
  const chat = new ChatReactor(name, undialable ? { address: () => '' } : {})
  const ip = `127.0.51.${i + 1}`
  const sw = new Switch({ nodeKey: NodeKey.generate(), network: 'chat-relay', dialFromAddress: ip, dialJitter: 0, ...(undialable ? {} : { listenAddress: `tcp://${ip}:0` }) })
  sw.addReactor('chat', chat)
  await sw.start()
  switches.push(sw)
  const heard: string[] = []
  chat.events.on('line', (from, text) => heard.push(`${from}:${text}`))
  return { sw, chat, heard }
}

describe('chat relay for undialable members', () => {
  it('the member a tab joined through relays both ways; nobody dials the tab and nobody hears a line twice', async () => {
    const alice = await member('alice', 0)
    const bob = await member('bob', 1)
    const carol = await member('carol', 2)
    await bob.sw.dial(alice.sw.address)
    await carol.sw.dial(alice.sw.address)
    await waitFor(() => bob.chat.members().size === 2 && carol.chat.members().size === 2, { what: 'a mesh of three' })
    const tab = await member('tab', 3, true)
    await tab.sw.dial(alice.sw.address)
    await waitFor(() => alice.chat.members().has('tab'), { what: 'alice to hear the tab' })

    expect(await tab.chat.say('from the tab')).toBe(1) // connected to alice only
    bob.chat.say('from bob').catch(() => {})
    await waitFor(() => bob.heard.includes('tab:from the tab') && carol.heard.includes('tab:from the tab') && tab.heard.includes('bob:from bob'), { what: 'relayed lines' })
    expect(alice.heard.sort()).toEqual(['bob:from bob', 'tab:from the tab'])
    // Settle, then count: a relayed line is never relayed again, so each is heard once.
    await alice.chat.say('from alice')
    await waitFor(() => tab.heard.includes('alice:from alice') && carol.heard.includes('alice:from alice'), { what: "alice's line" })
    expect(bob.heard.sort()).toEqual(['alice:from alice', 'tab:from the tab'])
    expect(carol.heard.sort()).toEqual(['alice:from alice', 'bob:from bob', 'tab:from the tab'])
    expect(tab.heard.sort()).toEqual(['alice:from alice', 'bob:from bob'])
    // The tab's empty address is never handed out: only alice holds a connection to it.
    expect(bob.sw.peers.has(tab.sw.nodeKey.id) || carol.sw.peers.has(tab.sw.nodeKey.id)).toBe(false)
    expect([...tab.sw.peers.keys()]).toEqual([alice.sw.nodeKey.id])
  })
})
