/**
 * The devp2p "foo/bar" example as a Switchyard reactor: one channel carrying UTF-8 strings; a
 * peer that receives "foo" answers "bar". `ask(peer)` sends "foo" and resolves with the answer.
 */
import { Reactor, channel, type Envelope, type MessageCodec, type Peer, type RemoveReason } from '@switchyard/p2p'

const utf8: MessageCodec<string> = {
  encode: s => Buffer.from(s, 'utf8'),
  decode: b => new TextDecoder('utf-8', { fatal: true }).decode(b)
}

export const FooBarChannel = channel<string>({ id: 0x70, priority: 1, sendQueueCapacity: 16, recvMessageCapacity: 1024, message: utf8 })

export class FooBarReactor extends Reactor {
  readonly channels = [FooBarChannel]
  private readonly waiting = new Map<string, Array<(answer: string) => void>>()

  override receive ({ peer, message }: Envelope<string>): void {
    if (message === 'foo') peer.trySend(FooBarChannel, 'bar')
    else this.waiting.get(peer.id)?.shift()?.(message)
  }

  override removePeer (peer: Peer, _reason: RemoveReason): void {
    this.waiting.delete(peer.id)
  }

  /** Sends "foo" to `peer` and resolves with its answer; rejects after `timeoutMs`. */
  async ask (peer: Peer, timeoutMs = 5000): Promise<string> {
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer from ${peer.id} within ${timeoutMs} ms`)), timeoutMs)
      const list = this.waiting.get(peer.id) ?? []
      list.push(answer => { clearTimeout(timer); resolve(answer) })
      this.waiting.set(peer.id, list)
      if (!peer.trySend(FooBarChannel, 'foo')) { clearTimeout(timer); reject(new Error('could not queue "foo"')) }
    })
  }
}
