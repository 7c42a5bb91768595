/**
 * protobufjs reflection types for every CometBFT p2p message (descriptor generated from proto/).
 * Reflection was chosen over static code by measurement: both encode a 1 KiB Packet at ~0.33 M/s
 * here (docs/benchmarks.md), and the hot path (Packet) uses the hand-written codec in packet.ts.
 */
import protobuf from 'protobufjs'
import { descriptor } from './gen/descriptor.js'

export const root = protobuf.Root.fromJSON(descriptor as unknown as protobuf.INamespace)

function type (name: string): protobuf.Type {
  return root.lookupType(name)
}

export const types = {
  PublicKey: type('tendermint.crypto.PublicKey'),
  PacketPing: type('tendermint.p2p.PacketPing'),
  PacketPong: type('tendermint.p2p.PacketPong'),
  PacketMsg: type('tendermint.p2p.PacketMsg'),
  Packet: type('tendermint.p2p.Packet'),
  AuthSigMessage: type('tendermint.p2p.AuthSigMessage'),
  BytesValue: type('tendermint.p2p.BytesValue'),
  NetAddress: type('tendermint.p2p.NetAddress'),
  ProtocolVersion: type('tendermint.p2p.ProtocolVersion'),
  DefaultNodeInfo: type('tendermint.p2p.DefaultNodeInfo'),
  DefaultNodeInfoOther: type('tendermint.p2p.DefaultNodeInfoOther'),
  PexRequest: type('tendermint.p2p.PexRequest'),
  PexAddrs: type('tendermint.p2p.PexAddrs'),
  PexMessage: type('tendermint.p2p.Message'),
  LanAnnouncement: type('switchyard.lan.LanAnnouncement'),
  SignedLanAnnouncement: type('switchyard.lan.SignedLanAnnouncement')
} as const
