/**
 * In-process test networks: N Switches on loopback, each on its own 127.x.y.z address (Linux
 * routes all of 127.0.0.0/8 to the loopback interface, so IP-based rules — duplicate IPs, filters —
 * can be exercised), connected in a chosen topology. Nodes are spread over many /16 groups, as on
 * the internet, so address books fill many buckets instead of capping at one bucket's 64 entries.
 */
import { NodeKey, Switch, type Reactor, type SwitchOptions } from '@switchyard/p2p'
import { waitFor } from './wait.js'

export type Topology = 'none' | 'full' | 'line' | 'ring' | 'star' | Array<[number, number]>

export interface TestNode {
  index: number
  ip: string
  switch: Switch
  id: string
  /** id@ip:port */
  address: string
  reactors: Record<string, Reactor>
}

export interface TestNetworkOptions {
  size: number
  /** Reactors of node i (a fresh set per node). */
  reactors?: (index: number) => Record<string, Reactor>
  topology?: Topology
  network?: string
  /** Extra Switch options for node i (limits, filters, timings …). */
  switchOptions?: (index: number) => Partial<SwitchOptions>
  /** Loopback address of node i; default spreadIp(block, i) with a block per network. */
  ip?: (index: number) => string
}

let networkCounter = 0

/**
 * Node i of network `block` (1–250): 127.<1 + i % 250>.<block>.<2 + ⌊i / 250⌋>, so the first 250
 * nodes each sit in a /16 group of their own (the AddrBook's unit of bucket placement) and no
 * two networks share an address.
 */
export function spreadIp (block: number, i: number): string {
  return `127.${1 + (i % 250)}.${block}.${2 + Math.floor(i / 250)}`
}

export function edges (topology: Topology, n: number): Array<[number, number]> {
  if (Array.isArray(topology)) return topology
  const e: Array<[number, number]> = []
  switch (topology) {
    case 'none': break
    case 'full': for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) e.push([i, j]); break
    case 'line': for (let i = 0; i + 1 < n; i++) e.push([i, i + 1]); break
    case 'ring': for (let i = 0; i < n; i++) if (n > 1 && (i + 1) % n !== i) e.push([i, (i + 1) % n]); break
    case 'star': for (let i = 1; i < n; i++) e.push([i, 0]); break
  }
  return e
}

export class TestNetwork {
  readonly nodes: TestNode[]

  private constructor (nodes: TestNode[]) {
    this.nodes = nodes
  }

  /** Starts `size` nodes and dials the topology's edges (the first of each pair dials the second). */
  static async start (options: TestNetworkOptions): Promise<TestNetwork> {
    const block = 1 + (networkCounter++ % 250)
    const nodes: TestNode[] = []
    try {
      for (let i = 0; i < options.size; i++) {
        const ip = options.ip?.(i) ?? spreadIp(block, i)
        const nodeKey = NodeKey.generate()
        const sw = new Switch({
          nodeKey,
          network: options.network ?? 'test-network',
          moniker: `node${i}`,
          listenAddress: `tcp://${ip}:0`,
          dialFromAddress: ip,
          dialJitter: 0,
          ...options.switchOptions?.(i)
        })
        const reactors = options.reactors?.(i) ?? {}
        for (const [name, r] of Object.entries(reactors)) sw.addReactor(name, r)
        await sw.start()
        nodes.push({ index: i, ip, switch: sw, id: nodeKey.id, address: sw.address, reactors })
      }
      const net = new TestNetwork(nodes)
      await net.connect(edges(options.topology ?? 'none', options.size))
      return net
    } catch (err) {
      await Promise.all(nodes.map(async n => { await n.switch.stop() }))
      throw err
    }
  }

  /** Dials each edge and waits until both ends see each other. */
  async connect (pairs: Array<[number, number]>, timeoutMs = 10_000): Promise<void> {
    await Promise.all(pairs.map(async ([a, b]) => {
      const from = this.nodes[a]!
      const to = this.nodes[b]!
      if (!from.switch.peers.has(to.id)) await from.switch.dial(to.address)
    }))
    await waitFor(() => pairs.every(([a, b]) => this.nodes[a]!.switch.peers.has(this.nodes[b]!.id) && this.nodes[b]!.switch.peers.has(this.nodes[a]!.id)), { timeoutMs, what: 'the topology to connect' })
  }

  node (i: number): TestNode {
    const n = this.nodes[i]
    if (n === undefined) throw new RangeError(`no node ${i}`)
    return n
  }

  async stop (): Promise<void> {
    await Promise.all(this.nodes.map(async n => { await n.switch.stop() }))
  }
}
