import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import type { Server } from 'node:http'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Page } from 'playwright-core'
import { NodeKey } from '@switchyard/p2p'
import { CliMember } from './cli-member.js'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const outDir = `${root}examples/browser-chat/test-output`
const chromiumPath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(p => existsSync(p))

const members: CliMember[] = []
let browser: Browser | undefined
let server: Server | undefined
afterEach(async () => {
  await browser?.close()
  browser = undefined
  for (const m of members.splice(0)) m.proc.kill()
  server?.close()
  server = undefined
})

interface PageState { lines: string[], status: string, error: string, nodeId: string, crypto: Record<string, string> }
const pageState = async (page: Page): Promise<PageState> => await page.evaluate(() => (globalThis as unknown as { browserChat: PageState }).browserChat)

async function pageLine (page: Page, line: string): Promise<void> {
  await page.waitForFunction(l => (globalThis as unknown as { browserChat: PageState }).browserChat.lines.includes(l), line, { timeout: 15_000 })
    .catch(async err => { throw new Error(`the page never showed ${JSON.stringify(line)}; it has ${JSON.stringify(await pageState(page))}`, { cause: err }) })
}

async function joined (page: Page): Promise<PageState> {
  await page.waitForFunction(() => (globalThis as unknown as { browserChat?: PageState }).browserChat?.status !== 'starting', undefined, { timeout: 20_000 })
  const s = await pageState(page)
  if (s.status !== 'joined') throw new Error(`the page did not join: ${s.status} ${s.error}`)
  return s
}

async function start (): Promise<{ alice: CliMember, bob: CliMember, url: string, join: string }> {
  // Alice listens on TCP and on WebSocket; Bob is TCP only and joins through Alice.
  const alice = new CliMember(['--name', 'alice', '--listen', '127.0.0.1:0', '--ws-listen', '127.0.0.1:0'])
  members.push(alice)
  const aliceTcp = (await alice.line(l => l.startsWith('* you are alice at '), 'alice to start')).split(' at ')[1]!
  const join = (await alice.line(l => l.startsWith('* browsers join at '), 'alice to listen on ws')).split(' at ')[1]!
  expect(join).toMatch(/^ws:\/\/[0-9a-f]{40}@127\.0\.0\.1:\d+$/)
  const bob = new CliMember(['--name', 'bob', '--join', aliceTcp])
  members.push(bob)
  await bob.line(l => l === '* alice joined', 'bob to join alice over TCP')
  const { serveStatic } = await import('../scripts/serve.mjs') as { serveStatic: (port?: number) => Promise<{ server: Server, url: string }> }
  const served = await serveStatic(0)
  server = served.server
  browser = await chromium.launch({ executablePath: chromiumPath!, headless: true, args: ['--no-sandbox'] })
  return { alice, bob, url: served.url, join }
}

describe('browser chat (a real Chromium tab)', () => {
  beforeAll(async () => {
    // The suite normally runs after `tsc -b`; build what this test needs if it has not been, then the page bundle.
    execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-b', `${root}examples/browser-chat`], { stdio: 'inherit' })
    const { buildPage } = await import('../scripts/build.mjs') as { buildPage: () => Promise<{ gzipBytes: number, budgetGzipBytes: number }> }
    const size = await buildPage()
    expect(size.gzipBytes).toBeLessThanOrEqual(size.budgetGzipBytes)
  }, 120_000)

  it('handshakes with a Node member over WebSocket, chats both ways with TCP members, and leaves', { timeout: 90_000 }, async (ctx) => {
    if (chromiumPath === undefined) {
      if (process.env.CI === 'true') throw new Error('CI=true but Chromium is not installed (.ci/run installs Debian\'s chromium)')
      console.warn('Chromium is not installed: skipping the browser chat test (apt-get install chromium to run it)')
      ctx.skip()
    }
    const { alice, bob, url, join } = await start()
    const page = await browser!.newPage()
    page.on('pageerror', err => { console.error(`page error: ${err.message}`) })
    await page.goto(`${url}?join=${encodeURIComponent(join)}&name=carol&fresh=1`)
    const state = await joined(page)
    expect(state.nodeId).toMatch(/^[0-9a-f]{40}$/)
    // Chromium has X25519 and Ed25519 in WebCrypto: the handshake used them, not the JS fallback.
    expect(state.crypto).toEqual({ x25519: 'webcrypto', ed25519Verify: 'webcrypto' })

    // The handshake is the real one: Alice admitted the tab as a peer and heard its Hello.
    await alice.line(l => l === '* carol joined', 'alice to see the tab join')
    await pageLine(page, '* alice joined')

    // Tab → room: typed into the page's form; Alice hears it directly, Bob (TCP) through Alice.
    await page.fill('#text', 'hello from the tab')
    await page.press('#text', 'Enter')
    await alice.line(l => l === '<carol> hello from the tab', 'alice to hear the tab')
    await bob.line(l => l === '<carol> hello from the tab', 'bob (TCP) to hear the tab through alice')

    // Room → tab: from the member it is connected to, and from a TCP member it is not.
    alice.say('hi carol, alice here')
    bob.say('hi carol, bob on TCP')
    await pageLine(page, '<alice> hi carol, alice here')
    await pageLine(page, '<bob> hi carol, bob on TCP')

    mkdirSync(outDir, { recursive: true })
    const shot = `${outDir}/browser-chat.png`
    await page.screenshot({ path: shot, fullPage: true })
    console.log(`browser chat screenshot: ${shot}`)

    // Leaving is a graceful stop: Alice sees the tab go.
    await page.click('#leave')
    await page.waitForFunction(() => (globalThis as unknown as { browserChat: PageState }).browserChat.status === 'left', undefined, { timeout: 10_000 })
    await alice.line(l => l === '* carol left', 'alice to see the tab leave')
  })

  it('keeps its node identity in IndexedDB across reloads, exportable as node_key.json', { timeout: 90_000 }, async (ctx) => {
    if (chromiumPath === undefined) {
      if (process.env.CI === 'true') throw new Error('CI=true but Chromium is not installed (.ci/run installs Debian\'s chromium)')
      console.warn('Chromium is not installed: skipping the browser identity test (apt-get install chromium to run it)')
      ctx.skip()
    }
    const { alice, url, join } = await start()
    const page = await browser!.newPage()
    await page.goto(`${url}?join=${encodeURIComponent(join)}&name=dave`)
    const first = await joined(page)
    await alice.line(l => l === '* dave joined', 'alice to see the tab join')
    await page.click('#export')
    const exported = await page.inputValue('#key')
    // The exported text is node_key.json as a Node node reads it: same key, same ID.
    expect(NodeKey.fromJSON(exported).id).toBe(first.nodeId)

    await page.reload()
    const second = await joined(page)
    expect(second.nodeId).toBe(first.nodeId)
  })
})
