/**
 * Signed LAN announcements: what a node says about itself on the LAN, signed with its node key so
 * that a neighbour cannot announce someone else's ID. The receiver takes the IP from the datagram's
 * source address, never from the message.
 */
import { verifyEd25519 } from '@switchyard/conn'
import { nodeIdFromPublicKey, type NodeKey } from '@switchyard/p2p'
import { protoTypes } from '@switchyard/wire'

const DOMAIN = Buffer.from('switchyard-lan-v1')

export interface Announcement {
  nodeId: string
  network: string
  port: number
  p2pVersion: number
  blockVersion: number
  timestampMs: number
  query: boolean
}

export function encodeAnnouncement (key: NodeKey, a: Omit<Announcement, 'nodeId'>): Uint8Array {
  const body = protoTypes.LanAnnouncement.encode({
    pub_key: key.publicKey,
    node_id: key.id,
    network: a.network,
    port: a.port,
    p2p_version: a.p2pVersion,
    block_version: a.blockVersion,
    timestamp_ms: a.timestampMs,
    query: a.query
  }).finish()
  const signature = key.sign(Buffer.concat([DOMAIN, body]))
  return protoTypes.SignedLanAnnouncement.encode({ body, signature }).finish()
}

export type RejectReason = 'malformed' | 'bad-signature' | 'id-mismatch' | 'bad-port'

/** A decoded announcement whose signature has not been checked yet. */
export interface ParsedAnnouncement {
  announcement: Announcement
  pubKey: Uint8Array
  body: Uint8Array
  signature: Uint8Array
}

/**
 * Decodes and checks the cheap things (shape, key/ID agreement, port) without the signature, so a
 * receiver can spend its signature budget only on datagrams that could be genuine.
 */
export function parseAnnouncement (datagram: Uint8Array): ParsedAnnouncement | Exclude<RejectReason, 'bad-signature'> {
  let body: Uint8Array
  let signature: Uint8Array
  let a: Record<string, unknown>
  try {
    const signed = protoTypes.SignedLanAnnouncement.decode(datagram) as unknown as { body?: Uint8Array, signature?: Uint8Array }
    // protobufjs leaves absent bytes fields as a default that is not always a Uint8Array.
    body = signed.body instanceof Uint8Array ? signed.body : new Uint8Array(0)
    signature = signed.signature instanceof Uint8Array ? signed.signature : new Uint8Array(0)
    a = protoTypes.LanAnnouncement.decode(body) as unknown as Record<string, unknown>
  } catch {
    return 'malformed'
  }
  const pubKey = a.pub_key instanceof Uint8Array ? a.pub_key : new Uint8Array(0)
  if (pubKey.length !== 32 || signature.length !== 64) return 'malformed'
  if (a.node_id !== nodeIdFromPublicKey(pubKey)) return 'id-mismatch'
  const port = Number(a.port ?? 0)
  if (!Number.isInteger(port) || port < 1 || port > 65535) return 'bad-port'
  return {
    announcement: {
      nodeId: String(a.node_id),
      network: typeof a.network === 'string' ? a.network : '',
      port,
      p2pVersion: Number(a.p2p_version ?? 0),
      blockVersion: Number(a.block_version ?? 0),
      timestampMs: Number(a.timestamp_ms ?? 0),
      query: a.query === true
    },
    pubKey,
    body,
    signature
  }
}

/** The expensive check: the ed25519 signature over the domain-separated body. */
export function verifyAnnouncement (p: ParsedAnnouncement): boolean {
  return verifyEd25519(p.pubKey, Buffer.concat([DOMAIN, p.body]), p.signature)
}

/** Decodes and checks everything, signature included; returns the announcement or why not. */
export function decodeAnnouncement (datagram: Uint8Array): Announcement | RejectReason {
  const p = parseAnnouncement(datagram)
  if (typeof p === 'string') return p
  return verifyAnnouncement(p) ? p.announcement : 'bad-signature'
}
