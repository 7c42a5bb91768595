import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { NodeKey, Switch } from '@switchyard/p2p'
import { scaled, waitFor } from '@switchyard/testing'
import { ChatReactor } from '@switchyard/example-chat'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const cli = `${root}examples/chat/dist/cli.js`

/** A chat member run as the real CLI, with its output lines collected. */
class Member {
  readonly lines: string[] = []
  readonly proc: ChildProcess
  constructor (args: string[]) {
    this.proc = spawn(process.execPath, [cli, ...args], { stdio: ['pipe', 'pipe', 'inherit'] })
    let buf = ''
    this.proc.stdout!.setEncoding('utf8').on('data', (t: string) => {
      buf += t
      const parts = buf.split('\n')
      buf = parts.pop()!
      this.lines.push(...parts)
    })
  }

  async line (pred: (l: string) => boolean, what: string): Promise<string> {
    await waitFor(() => this.lines.some(pred), { timeoutMs: 10_000, what: `${what} (output so far: ${JSON.stringify(this.lines)})` })
    return this.lines.find(pred)!
  }

  say (text: string): void { this.proc.stdin!.write(text + '\n') }
  get exited (): Promise<number | null> {
    return this.proc.exitCode !== null ? Promise.resolve(this.proc.exitCode) : new Promise(resolve => this.proc.once('exit', resolve))
  }
}

const members: Member[] = []
const switches: Switch[] = []
afterEach(async () => {
  for (const m of members.splice(0)) m.proc.kill()
  await Promise.all(switches.splice(0).map(async s => { await s.stop() }))
})

describe('chat example', () => {
  beforeAll(() => {
    // The suite normally runs after `tsc -b`; build this example if it has not been.
    execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-b', `${root}examples/chat`], { stdio: 'inherit' })
  }, 120_000)

  it('CLI: join through one member, learn the others, broadcast, whisper, leave', { timeout: 60_000 }, async () => {
    const alice = new Member(['--name', 'alice', '--listen', '127.0.0.1:0'])
    members.push(alice)
    const aliceAddr = (await alice.line(l => l.startsWith('* you are alice at '), 'alice to start')).split(' at ')[1]!
    const bob = new Member(['--name', 'bob', '--join', aliceAddr])
    const carol = new Member(['--name', 'carol', '--join', aliceAddr])
    members.push(bob, carol)
    // Carol only knew Alice, but learns Bob (and Bob learns Carol) through her.
    await carol.line(l => l === '* bob joined', 'carol to meet bob')
    await bob.line(l => l === '* carol joined', 'bob to meet carol')
    await alice.line(l => l === '* carol joined', 'alice to meet carol')

    bob.say('hello all')
    await alice.line(l => l === '<bob> hello all', 'alice to hear bob')
    await carol.line(l => l === '<bob> hello all', 'carol to hear bob')

    carol.say('/to alice just for you')
    await alice.line(l => l === '<carol (to you)> just for you', 'the whisper')
    carol.say('/who')
    await carol.line(l => l === '* members: alice, bob', 'the member list')
    expect(bob.lines.some(l => l.includes('just for you'))).toBe(false)

    const t0 = performance.now()
    bob.say('/quit')
    await alice.line(l => l === '* bob left', 'alice to see bob leave')
    await carol.line(l => l === '* bob left', 'carol to see bob leave')
    expect(performance.now() - t0).toBeLessThan(scaled(2000))
    expect(await bob.exited).toBe(0)
  })

  it('CLI: a mixed room (alice on TCP, bob on WebSocket, carol on TCP joining through bob\'s ws:// address) chats as one', { timeout: 60_000 }, async () => {
    const alice = new Member(['--name', 'alice'])
    members.push(alice)
    const aliceAddr = (await alice.line(l => l.startsWith('* you are alice at '), 'alice to start')).split(' at ')[1]!
    const bob = new Member(['--name', 'bob', '--ws', '--join', aliceAddr])
    members.push(bob)
    const bobAddr = (await bob.line(l => l.startsWith('* you are bob at '), 'bob to start')).split(' at ')[1]!
    expect(bobAddr).toMatch(/^ws:\/\/[0-9a-f]{40}@127\.0\.0\.1:\d+$/)
    await alice.line(l => l === '* bob joined', 'alice to meet bob (bob dialed TCP)')
    const carol = new Member(['--name', 'carol', '--join', bobAddr])
    members.push(carol)
    // Carol reached bob over WebSocket and learns alice's TCP address from him.
    await carol.line(l => l === '* bob joined', 'carol to meet bob over WebSocket')
    await carol.line(l => l === '* alice joined', 'carol to meet alice')
    await alice.line(l => l === '* carol joined', 'alice to meet carol')

    bob.say('from the websocket side')
    await alice.line(l => l === '<bob> from the websocket side', 'alice to hear bob')
    await carol.line(l => l === '<bob> from the websocket side', 'carol to hear bob')
    carol.say('from the tcp side')
    await bob.line(l => l === '<carol> from the tcp side', 'bob to hear carol')
    await alice.line(l => l === '<carol> from the tcp side', 'alice to hear carol')
    carol.say('/to bob only you')
    await bob.line(l => l === '<carol (to you)> only you', 'the whisper over WebSocket')
    expect(alice.lines.some(l => l.includes('only you'))).toBe(false)
  })

  it('reactor: members learn each other through one, and lines reach everyone', async () => {
    const start = async (name: string, i: number): Promise<{ sw: Switch, chat: ChatReactor }> => {
      const chat = new ChatReactor(name)
      const ip = `127.0.50.${i + 1}`
      const sw = new Switch({ nodeKey: NodeKey.generate(), network: 'chat-test', listenAddress: `tcp://${ip}:0`, dialFromAddress: ip, dialJitter: 0 })
      sw.addReactor('chat', chat)
      await sw.start()
      switches.push(sw)
      return { sw, chat }
    }
    const hub = await start('hub', 0)
    const others = await Promise.all(['a', 'b', 'c', 'd'].map(async (name, i) => await start(name, i + 1)))
    for (const o of others) await o.sw.dial(hub.sw.address)
    await waitFor(() => others.every(o => o.chat.members().size === 4), { what: 'a full mesh of 5' })
    const heard: string[] = []
    for (const o of [hub, ...others]) o.chat.events.on('line', (from, text) => heard.push(`${o.chat.name}:${from}:${text}`))
    expect(await others[0]!.chat.say('hi')).toBe(4)
    await waitFor(() => heard.length === 4)
    expect(heard.sort()).toEqual(['b:a:hi', 'c:a:hi', 'd:a:hi', 'hub:a:hi'])
  })
})
