/**
 * Handshakes accepted per second of the listener's CPU time, through a Switch (admission, the
 * SecretConnection and NodeInfo exchange, peer start and removal), with the dialers in a child
 * process. Also the wall-clock rate, which on a shared 2-core machine depends on the dialers.
 */
import { NodeKey, Reactor, Switch, channel } from '@switchyard/p2p'
import { dialFromChild } from './dialers.js'

class Idle extends Reactor {
  readonly channels = [channel({ id: 0x60, priority: 1 })]
}

export async function handshakeRate (ms: number, dialers = 16): Promise<{ perCpuSecond: number, perSecond: number, accepted: number, listenerCpuMs: number }> {
  const sw = new Switch({
    nodeKey: NodeKey.generate(), network: 'bench', moniker: 'listener', listenAddress: 'tcp://127.0.0.1:0',
    maxInboundPeers: 10_000, allowDuplicateIp: true, maxPendingHandshakes: 1000
  })
  sw.addReactor('idle', new Idle())
  await sw.start()
  let accepted = 0
  sw.on('peer:add', () => { accepted++ })
  try {
    const port = Number(sw.address.split(':').pop())
    let cpu0 = process.cpuUsage()
    let t0 = performance.now()
    const dialed = await dialFromChild(port, dialers, ms, () => { accepted = 0; cpu0 = process.cpuUsage(); t0 = performance.now() })
    const seconds = (performance.now() - t0) / 1000
    const cpu = process.cpuUsage(cpu0)
    const cpuMs = (cpu.user + cpu.system) / 1000
    if (accepted < dialed * 0.9) throw new Error(`the listener accepted ${accepted} of ${dialed} completed dials`)
    return { perCpuSecond: accepted / (cpuMs / 1000), perSecond: accepted / seconds, accepted, listenerCpuMs: cpuMs }
  } finally {
    await sw.stop()
  }
}
