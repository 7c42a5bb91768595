/**
 * Handshake load from a child process: `count` dialer loops, each connecting and running the full
 * upgrade (SecretConnection + NodeInfo) against the listener until the deadline, then closing.
 * Replies with the number completed. Keeping the dialers in another process lets the listener's
 * CPU time be measured alone (process.cpuUsage of the listener's process).
 */
import net from 'node:net'
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { NodeKey, makeNodeInfo, upgradeToPeer } from '@switchyard/p2p'

interface Job { port: number, count: number, ms: number }

/**
 * Starts the child, waits until it is ready (modules loaded, keys made), calls `go` (where the
 * caller starts its clocks), lets the dialers run, and resolves with the handshakes they completed.
 */
export async function dialFromChild (port: number, count: number, ms: number, go: () => void): Promise<number> {
  const child = fork(new URL(import.meta.url), ['--child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  try {
    child.send({ port, count, ms } satisfies Job)
    await once(child, 'message')
    go()
    child.send('go')
    const [done] = await once(child, 'message') as [number]
    return done
  } finally {
    child.kill()
  }
}

async function dialLoops ({ port, count, ms }: Job): Promise<number> {
  const dialers = Array.from({ length: count }, () => {
    const key = NodeKey.generate()
    return { key, info: makeNodeInfo({ nodeId: key.id, network: 'bench', listenAddr: 'tcp://127.0.0.1:1', moniker: 'd', channels: [0x60] }) }
  })
  process.send!('ready')
  await once(process, 'message')
  const deadline = performance.now() + ms
  let done = 0
  await Promise.all(dialers.map(async ({ key, info }) => {
    while (performance.now() < deadline) {
      const s = net.connect(port, '127.0.0.1')
      await once(s, 'connect')
      const p = await upgradeToPeer(s, { nodeKey: key, nodeInfo: info })
      p.conn.destroy()
      done++
    }
  }))
  return done
}

if (process.argv.includes('--child')) {
  process.once('message', (job: Job) => {
    dialLoops(job).then(n => process.send!(n), err => { console.error(err); process.exit(1) })
  })
}
