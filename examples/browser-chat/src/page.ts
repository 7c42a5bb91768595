/** Wires joinChat to public/index.html: ?join=ws://id@host:port&name=tab[&fresh=1]. */
import { handshakeCryptoStatus } from '@switchyard/browser'
import { joinChat, type BrowserChat } from './index.js'

const $ = (id: string): HTMLElement => document.getElementById(id)!
const log = $('log')
const status = $('status')

function show (text: string, cls = ''): void {
  const li = document.createElement('li')
  li.textContent = text
  if (cls !== '') li.className = cls
  log.appendChild(li)
}

/** What the browser test reads (and what a curious user can poke at in the console). */
const state = { lines: [] as string[], status: 'starting', error: '', nodeId: '', crypto: {} as Record<string, string> }
;(globalThis as unknown as { browserChat: unknown }).browserChat = state

async function main (): Promise<void> {
  const params = new URLSearchParams(location.search)
  const join = params.get('join')
  const name = params.get('name') ?? `tab-${Math.random().toString(16).slice(2, 6)}`
  if (join === null) throw new Error('add ?join=ws://<id>@host:port to the page address (the Node member prints it)')
  status.textContent = `joining ${join} as ${name}…`
  const c: BrowserChat = await joinChat({ name, join, freshKey: params.get('fresh') === '1' })
  state.nodeId = c.nodeId
  const hc = await handshakeCryptoStatus()
  state.crypto = { ...hc }
  c.chat.events.on('joined', who => { state.lines.push(`* ${who} joined`); show(`* ${who} joined`, 'meta') })
  c.chat.events.on('left', who => { state.lines.push(`* ${who} left`); show(`* ${who} left`, 'meta') })
  c.chat.events.on('line', (from, text) => { state.lines.push(`<${from}> ${text}`); show(`<${from}> ${text}`) })
  state.status = 'joined'
  status.textContent = `${name} (${c.nodeId.slice(0, 12)}…) in the room through ${join.replace(/^ws:\/\/[0-9a-f]+@/, 'ws://…@')} (X25519: ${hc.x25519}, ed25519 verify: ${hc.ed25519Verify})`
  const input = $('text') as HTMLInputElement
  ;($('form') as HTMLFormElement).addEventListener('submit', ev => {
    ev.preventDefault()
    const text = input.value.trim()
    input.value = ''
    if (text === '') return
    show(`<${name}> ${text}`, 'own')
    void c.say(text)
  })
  $('leave').addEventListener('click', () => {
    void c.leave().then(() => { state.status = 'left'; status.textContent = `${name} left the room` })
  })
  $('export').addEventListener('click', () => { ($('key') as HTMLTextAreaElement).value = c.exportKey() })
}

main().catch((err: Error) => { state.status = 'failed'; state.error = err.message; status.textContent = `failed: ${err.message}` })
