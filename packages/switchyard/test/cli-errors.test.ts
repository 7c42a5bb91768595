import { beforeAll, describe, expect, it } from 'vitest'
import { execFile, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { NodeKey } from '@switchyard/p2p'
import { waitFor } from '@switchyard/testing'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const cli = `${root}packages/switchyard/dist/cli.js`
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'CMTHOME' && k !== 'DEBUG'))
const tmp = (): string => mkdtempSync(join(tmpdir(), 'swy-cli-err-'))

async function run (args: string[], cwd?: string): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return await new Promise(resolve => {
    execFile(process.execPath, [cli, ...args], { encoding: 'utf8', env, cwd, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null, stdout, stderr })
    })
  })
}

const id = NodeKey.generate().id
let home: string

describe('switchyard CLI: every usage and configuration error exits with its code and names the flag or key', () => {
  beforeAll(async () => {
    execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-b', `${root}packages/switchyard`], { stdio: 'inherit' })
    home = tmp()
    expect((await run(['init', '--home', home, '--chain-id', 'err-chain'])).code).toBe(0)
  }, 120_000)

  // [args, exit code, first stderr line]
  const usage: Array<[string[], RegExp]> = [
    [['init', '--chain-idd', 'typo'], /^switchyard: init: unknown flag --chain-idd$/],
    [['init', '--chain-id'], /^switchyard: init: --chain-id needs a value$/],
    [['init', '--chain-id', '--moniker', 'x'], /^switchyard: init: --chain-id needs a value$/],
    [['init', 'extra'], /^switchyard: init: unexpected argument "extra"$/],
    [['show-node-id', '--verbose'], /^switchyard: show-node-id: unknown flag --verbose$/],
    [['probe', '--bogus', `${id}@127.0.0.1:1`], /^switchyard: probe: unknown flag --bogus$/],
    [['probe'], /^switchyard: probe: missing ID@HOST:PORT/],
    [['probe', `${id}@127.0.0.1:1`, 'second'], /^switchyard: probe: unexpected argument "second"$/],
    [['probe', `${id}@127.0.0.1:1`, '--timeout'], /^switchyard: probe: --timeout needs a value$/],
    [['probe', `${id}@127.0.0.1:1`, '--timeout', 'soon'], /^switchyard: probe: --timeout: "soon" is not a duration/],
    [['probe', `${id}@127.0.0.1:1`, '--json=yes'], /^switchyard: probe: --json takes no value$/],
    [['crawl'], /^switchyard: crawl: --seeds id@host:port\[,…\] is required$/],
    [['crawl', '--seeds', 'garbage'], /^switchyard: crawl: --seeds: "garbage" is not id@host:port \(the node ID is missing\)$/],
    [['crawl', '--seeds', `${id}@127.0.0.1:1`, '--concurrency', '0'], /^switchyard: crawl: --concurrency needs an integer from 1 to 1024, got "0"$/],
    [['crawl', '--seeds', `${id}@127.0.0.1:1`, '--max-nodes'], /^switchyard: crawl: --max-nodes needs a value$/],
    [['crawl', '--sedes', `${id}@127.0.0.1:1`], /^switchyard: crawl: unknown flag --sedes$/],
    [['demo', '--fast'], /^switchyard: demo: unknown flag --fast$/],
    [['version', '--short'], /^switchyard: version: unknown flag --short$/],
    [['frobnicate'], /^switchyard: unknown command "frobnicate"/],
    [['help', 'frobnicate'], /^switchyard: unknown command "frobnicate"/],
    [['--bogus'], /^switchyard: seed: unknown flag --bogus$/],
    [['seed', '--p2p.laddr'], /^switchyard: seed: --p2p.laddr needs a value$/],
    [['seed', '--p2p.seed_mode'], /^switchyard: seed: --p2p.seed_mode needs a value$/],
    [['seed', '--p2p.no_such_key', '1'], /^switchyard: seed: unknown flag --p2p.no_such_key$/]
  ]
  for (const [args, message] of usage) {
    it(`exit 2: ${args.join(' ')}`, async () => {
      const r = await run(args, tmp())
      expect(r.code).toBe(2)
      expect(r.stderr.split('\n')[0]).toMatch(message)
      expect(r.stdout).toBe('')
    })
  }

  it('a mistyped init flag writes nothing', async () => {
    const h = tmp()
    const r = await run(['init', '--home', h, '--chain-idd', 'typo'])
    expect(r.code).toBe(2)
    expect(existsSync(join(h, 'config'))).toBe(false)
  })

  it('init --moniker "" is refused (exit 3) and writes nothing, instead of a config seed would refuse', async () => {
    const h = tmp()
    const r = await run(['init', '--home', h, '--moniker', ''])
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(/^switchyard: --moniker: a moniker must be printable ASCII and not blank, got ""/)
    expect(existsSync(join(h, 'config'))).toBe(false)
  })

  // Values that would break the seed: refused at start, naming the key (exit 3), before listening.
  const config: Array<[string, string[], RegExp]> = [
    ['a malformed seed', ['--p2p.seeds', 'garbage'], /^switchyard: p2p\.seeds: "garbage" is not id@host:port \(the node ID is missing\)$/],
    ['a seed with a bad ID', ['--p2p.seeds', `abc@127.0.0.1:26656`], /^switchyard: p2p\.seeds: "abc@127\.0\.0\.1:26656" is not id@host:port \(node ID "abc" is not 40 hex characters\)$/],
    ['a persistent peer without a port', ['--p2p.persistent_peers', `${id}@127.0.0.1`], /^switchyard: p2p\.persistent_peers: .* \(missing port in address "127\.0\.0\.1"\)$/],
    ['a bootstrap peer on port 0', ['--p2p.bootstrap_peers', `${id}@127.0.0.1:0`], /^switchyard: p2p\.bootstrap_peers: .* \(port 0 cannot be dialed\)$/],
    ['a private peer ID that is not an ID', ['--p2p.private_peer_ids', 'nope'], /^switchyard: p2p\.private_peer_ids: "nope" is not a node ID/],
    ['handshake_timeout over setTimeout\'s range', ['--p2p.handshake_timeout', '600h'], /^switchyard: p2p\.handshake_timeout = 600h is out of range: allowed 1ms to 1h$/],
    ['handshake_timeout 0s', ['--p2p.handshake_timeout', '0s'], /^switchyard: p2p\.handshake_timeout = 0ms is out of range/],
    ['dial_timeout 0s', ['--p2p.dial_timeout', '0s'], /^switchyard: p2p\.dial_timeout = 0ms is out of range/],
    ['max_packet_msg_payload_size 0', ['--p2p.max_packet_msg_payload_size', '0'], /^switchyard: p2p\.max_packet_msg_payload_size = 0 is out of range: allowed 1 to 1048576$/],
    ['flush_throttle_timeout 1h', ['--p2p.flush_throttle_timeout', '1h'], /^switchyard: p2p\.flush_throttle_timeout = 1h is out of range: allowed 0ms to 10s$/],
    ['a send rate of 1 byte/s', ['--p2p.send_rate', '1'], /^switchyard: p2p\.send_rate = 1 is out of range/],
    ['an unknown log level', ['--log-level', 'verbose'], /^switchyard: --log-level: expected debug, info, warn or error/],
    ['an unknown metrics line', ['--metrics.line', 'v2.0'], /^switchyard: --metrics\.line: expected one of v0\.34, v0\.37, v0\.38, v0\.39, v0\.40, v1\.0, got "v2\.0"$/],
    ['a blank moniker', ['--moniker', ' '], /^switchyard: moniker: a moniker must be printable ASCII and not blank/]
  ]
  for (const [what, args, message] of config) {
    it(`exit 3 on ${what}`, async () => {
      const r = await run(['seed', '--home', home, '--p2p.laddr', 'tcp://127.0.75.1:0', ...args])
      expect(r.code).toBe(3)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
      expect(r.stderr.trim()).toMatch(message)
    })
  }

  it('exit 3 on an out-of-range value in config.toml, naming the key', async () => {
    const h = tmp()
    expect((await run(['init', '--home', h])).code).toBe(0)
    const toml = join(h, 'config', 'config.toml')
    writeFileSync(toml, readFileSync(toml, 'utf8').replace('handshake_timeout = "20s"', 'handshake_timeout = "600h"'))
    const r = await run(['seed', '--home', h, '--p2p.laddr', 'tcp://127.0.75.2:0'])
    expect(r.code).toBe(3)
    expect(r.stderr.trim()).toBe('switchyard: p2p.handshake_timeout = 600h is out of range: allowed 1ms to 1h')
    writeFileSync(toml, readFileSync(toml, 'utf8').replace('handshake_timeout = "600h"', 'handshake_timeout = "20s"').replace('moniker = "switchyard-seed"', 'moniker = "x"\nlog_level = "loud"'))
    const r2 = await run(['seed', '--home', h, '--p2p.laddr', 'tcp://127.0.75.2:0'])
    expect(r2.code).toBe(3)
    expect(r2.stderr.trim()).toMatch(/config\.toml: log_level: expected debug, info, warn or error .*got "loud"$/)
  })

  it('--out that is a file, or under /proc, is refused before any node is contacted', async () => {
    let connections = 0
    const server = net.createServer(s => { connections++; s.destroy() })
    await new Promise<void>(resolve => server.listen(0, '127.0.75.3', resolve))
    const seed = `${id}@127.0.75.3:${(server.address() as net.AddressInfo).port}`
    try {
      const dir = tmp()
      const file = join(dir, 'not-a-dir')
      writeFileSync(file, 'x')
      const r = await run(['crawl', '--seeds', seed, '--out', file])
      expect(r.code).toBe(2)
      expect(r.stderr.trim()).toBe(`switchyard: crawl: --out ${file}: exists and is not a directory`)
      const p = await run(['crawl', '--seeds', seed, '--out', '/proc/x'])
      expect(p.code).toBe(2)
      // Node's recursive mkdir never returns under /proc: the check must not try it.
      expect(p.stderr.trim()).toBe('switchyard: crawl: --out /proc/x: is on a kernel pseudo file system (/proc, /sys), not a place for files')
      expect(connections).toBe(0)
    } finally {
      server.close()
    }
  })

  it('each command has its own --help (stdout, exit 0), and help <command> prints the same', async () => {
    for (const [cmd, has, hasNot] of [['init', '--chain-id ID', '--seeds'], ['probe', '--pex', '--out'], ['crawl', '--max-nodes N', '--pex'], ['seed', '--p2p.<key> VALUE', '--max-nodes']] as const) {
      const r = await run([cmd, '--help'])
      expect(r.code).toBe(0)
      expect(r.stdout).toMatch(new RegExp(`^usage: switchyard ${cmd}`))
      expect(r.stdout).toContain(has)
      expect(r.stdout).not.toContain(hasNot)
      expect((await run(['help', cmd])).stdout).toBe(r.stdout)
    }
    const short = await run(['probe', '-h'])
    expect(short.stdout).toMatch(/^usage: switchyard probe ID@HOST:PORT/)
  })

  it('log_level = "warn" in config.toml is honoured, and a seed that cannot be dialed is a WARN line with the reason', async () => {
    const h = tmp()
    mkdirSync(join(h, 'config'), { recursive: true })
    expect((await run(['init', '--home', h])).code).toBe(0)
    const toml = join(h, 'config', 'config.toml')
    writeFileSync(toml, 'log_level = "warn"\n' + readFileSync(toml, 'utf8'))
    const blocker = net.createServer()
    await new Promise<void>(resolve => blocker.listen(0, '127.0.75.4', resolve))
    const port = (blocker.address() as net.AddressInfo).port
    await new Promise(resolve => blocker.close(resolve)) // nothing listens there now
    const deadSeed = `${id}@127.0.75.4:${port}`
    // A seed given by host name is resolved and dialed too (not dropped as "not an IP").
    const other = net.createServer()
    await new Promise<void>(resolve => other.listen(0, '127.0.0.1', resolve))
    const port2 = (other.address() as net.AddressInfo).port
    await new Promise(resolve => other.close(resolve))
    const id2 = NodeKey.generate().id
    const p = spawn(process.execPath, [cli, 'seed', '--home', h, '--p2p.laddr', 'tcp://127.0.75.5:0', '--p2p.seeds', `${deadSeed},${id2}@localhost:${port2}`], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let err = ''
    p.stderr.setEncoding('utf8').on('data', (t: string) => { err += t })
    try {
      await waitFor(() => err.split('\n').filter(l => l.includes('seed dial failed')).length >= 2, { timeoutMs: 20_000, what: 'a WARN line for each dead seed' })
      const lines = err.split('\n').filter(l => l.includes('seed dial failed'))
      expect(lines.find(l => l.includes(deadSeed))).toMatch(new RegExp(`WARN  seed dial failed address=${deadSeed} reason=ERR_DIAL_FAILED detail=.*ECONNREFUSED`))
      expect(lines.find(l => l.includes(id2))).toMatch(new RegExp(`WARN  seed dial failed address=${id2}@127\\.0\\.0\\.1:${port2} reason=ERR_DIAL_FAILED detail=.*ECONNREFUSED`))
      // At warn, none of the INFO lines (started, listening) are written.
      expect(err).not.toMatch(/ INFO /)
    } finally {
      p.kill('SIGKILL')
    }
  }, 30_000)
})
