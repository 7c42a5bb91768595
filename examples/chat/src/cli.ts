#!/usr/bin/env node
/**
 * switchyard-chat: a terminal chat room on Switchyard.
 *
 *   node examples/chat/dist/cli.js --name alice [--listen 127.0.0.1:0] [--ws] [--join <id@host:port | ws://id@host:port>] [--network chat]
 *
 * With --ws the member listens on WebSocket (ws://) instead of TCP; every member can dial both,
 * so a room can mix TCP and WebSocket members.
 *
 * Type a line to send it to everyone; `/to <name> <text>` to one member; `/who` to list members;
 * `/quit` (or Ctrl-D) to leave.
 */
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { NodeKey, Switch } from '@switchyard/p2p'
import { webSocketTransport } from '@switchyard/transport-ws'
import { ChatReactor } from './index.js'

async function main (): Promise<void> {
  const { values } = parseArgs({
    options: {
      name: { type: 'string' },
      listen: { type: 'string', default: '127.0.0.1:0' },
      join: { type: 'string' },
      ws: { type: 'boolean', default: false },
      network: { type: 'string', default: 'switchyard-chat' }
    }
  })
  if (values.name === undefined || !/^[\x21-\x7e]{1,32}$/.test(values.name)) {
    console.error('usage: switchyard-chat --name <name> [--listen host:port] [--ws] [--join id@host:port|ws://id@host:port] [--network id]')
    process.exitCode = 2
    return
  }
  let wsAddress: string | undefined
  const chat = new ChatReactor(values.name, { address: () => wsAddress ?? sw.address })
  const sw = new Switch({
    nodeKey: NodeKey.generate(), network: values.network, moniker: values.name, dialJitter: 0, allowDuplicateIp: true,
    ...(values.ws ? {} : { listenAddress: `tcp://${values.listen}` })
  })
  sw.addReactor('chat', chat)
  const ws = webSocketTransport(sw, values.ws ? { listen: `ws://${values.listen}` } : {})
  chat.events.on('joined', name => console.log(`* ${name} joined`))
  chat.events.on('left', name => console.log(`* ${name} left`))
  chat.events.on('line', (from, text, direct) => console.log(direct ? `<${from} (to you)> ${text}` : `<${from}> ${text}`))
  await sw.start()
  wsAddress = await ws.listen()
  console.log(`* you are ${values.name} at ${wsAddress ?? sw.address}`)
  if (values.join !== undefined) {
    try {
      await sw.dial(values.join)
    } catch (err) {
      console.error(`* could not join ${values.join}: ${(err as Error).message}`)
    }
  }

  let leaving = false
  const leave = async (): Promise<void> => {
    if (leaving) return
    leaving = true
    await sw.stop()
    console.log('* bye')
  }
  const onSignal = (): void => { process.stdin.destroy(); void leave() }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)

  const rl = createInterface({ input: process.stdin, terminal: false })
  for await (const line of rl) {
    const text = line.trim()
    if (text === '') continue
    if (text === '/quit') break
    if (text === '/who') {
      console.log(`* members: ${[...chat.members().keys()].sort().join(', ') || '(none)'}`)
    } else if (text.startsWith('/to ')) {
      const [, name = '', ...words] = text.split(' ')
      if (!(await chat.whisper(name, words.join(' ')))) console.log(`* no member named ${name}`)
    } else {
      await chat.say(text)
    }
  }
  // Let go of stdin (a pipe left open by whoever started us would keep the process alive).
  rl.close()
  process.stdin.destroy()
  await leave()
}

main().catch(err => { console.error(`switchyard-chat: ${(err as Error).message}`); process.exitCode = 1 })
