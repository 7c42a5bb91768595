/** `switchyard init`: a home folder in CometBFT's layout, never overwriting anything. */
import { promises as fs } from 'node:fs'
import { join } from 'node:path'
import { FileExistsError, NodeKey, createFileAtomic, saveNodeKey } from '@switchyard/p2p'
import { DEFAULT_CHAIN_ID } from './config.js'

export interface InitOptions {
  home: string
  chainId?: string
  moniker?: string
  /** Listen address for [p2p] laddr (default CometBFT's tcp://0.0.0.0:26656). */
  laddr?: string
  /** addr_book_strict (default true; false makes sense only on a LAN or loopback). */
  strict?: boolean
}

export function configToml (o: { moniker: string, laddr: string, strict: boolean }): string {
  return `# Switchyard seed node configuration, in CometBFT's config.toml layout.
# A CometBFT config.toml works as it is: unknown sections and keys are ignored.
# Every key is explained in docs/configuration.md.

moniker = ${JSON.stringify(o.moniker)}
node_key_file = "config/node_key.json"

[p2p]
laddr = ${JSON.stringify(o.laddr)}
external_address = ""
seeds = ""
persistent_peers = ""
bootstrap_peers = ""
addr_book_file = "config/addrbook.json"
addr_book_strict = ${o.strict}
max_num_inbound_peers = 40
max_num_outbound_peers = 10
unconditional_peer_ids = ""
persistent_peers_max_dial_period = "0s"
flush_throttle_timeout = "100ms"
max_packet_msg_payload_size = 1024
send_rate = 5120000
recv_rate = 5120000
pex = true
seed_mode = true
private_peer_ids = ""
allow_duplicate_ip = false
handshake_timeout = "20s"
dial_timeout = "3s"
# Switchyard's own bounds against hostile peers (docs/reliability.md).
max_pending_handshakes_per_ip = 4
seed_request_timeout = "10s"
addr_book_max_bans = 4096
addr_book_max_ban_duration = "168h"
# Switchyard's own: find nodes on the local network with no seed (docs/lan-discovery.md).
lan_discovery = "off"
lan_discovery_group = "235.5.5.11"
lan_discovery_port = 8001
lan_discovery_interface = ""           # an address or name; "" = chosen (logged at start)
lan_discovery_broadcast_address = ""   # "" = the interface's subnet broadcast
lan_discovery_interval = "30s"
# Switchyard's own: the seed dials what it learns and serves only addresses it reached within the
# window; crawled peers are let go after the hold (CometBFT's seed: 28 h). docs/seed-node.md.
seed_serve_verified_only = true
seed_verified_window = "1h"
seed_verify_rate = 10
seed_verify_concurrency = 8
seed_crawl_hold = "30s"

[instrumentation]
prometheus = false
prometheus_listen_addr = ":26660"
namespace = "cometbft"
`
}

/** Creates config/config.toml, config/node_key.json and config/genesis.json; refuses existing files. */
export async function init (o: InitOptions): Promise<{ nodeKey: NodeKey, created: string[] }> {
  const dir = join(o.home, 'config')
  await fs.mkdir(dir, { recursive: true })
  const files = ['config.toml', 'node_key.json', 'genesis.json'].map(f => join(dir, f))
  for (const f of files) {
    try { await fs.access(f); throw new FileExistsError(f) } catch (err) { if ((err as { code?: string }).code === 'ERR_FILE_EXISTS') throw err }
  }
  const chainId = o.chainId ?? DEFAULT_CHAIN_ID
  const nodeKey = NodeKey.generate()
  await createFileAtomic(files[0]!, configToml({ moniker: o.moniker ?? 'switchyard-seed', laddr: o.laddr ?? 'tcp://0.0.0.0:26656', strict: o.strict ?? true }))
  await saveNodeKey(files[1]!, nodeKey)
  // A seed needs only the chain id; the rest of a CometBFT genesis is not ours to invent.
  await createFileAtomic(files[2]!, JSON.stringify({ genesis_time: new Date().toISOString(), chain_id: chainId, initial_height: '1' }, null, 2) + '\n')
  return { nodeKey, created: files }
}
