/**
 * Where the handshake listener's CPU goes, from a profile of a bench run:
 *
 *   node --cpu-prof --cpu-prof-dir=DIR bench/dist/run.js --only handshake --runs 3 --out OUT
 *   node bench/dist/profile-shares.js DIR/CPU.*.cpuprofile OUT/<run>.json
 *
 * Keeps only the samples inside the measured windows the results file records (windowStartUs …
 * windowEndUs, on the profile's monotonic clock), so module loading, key generation and the summary
 * are left out; prints the share of busy (non-idle) time per cost center, then the top functions.
 * The dialers run in a child process that the bench starts without the --cpu-prof flags.
 */
import { readFileSync } from 'node:fs'

interface ProfileNode { id: number, callFrame: { functionName: string, url: string, lineNumber: number }, children?: number[] }
interface Profile { nodes: ProfileNode[], startTime: number, samples: number[], timeDeltas: number[] }

/** Cost centers, matched on the sampled function's name (first match wins). */
const CENTERS: Array<[string, RegExp]> = [
  ['ed25519 verify', /crypto_sign_verify_detached|verifyOneShot/],
  ['ed25519 sign', /crypto_sign_detached|signOneShot/],
  ['X25519 DH (with the key import on node:crypto)', /crypto_scalarmult$|^diffieHellman$|getKeyObjectHandleFromJwk|prepareAsymmetricKey|^createPublicKey$/],
  ['X25519 key generation', /crypto_scalarmult_base|generateKeyPairSync|randombytes_buf|^export$|base64urlSlice/],
  ['HKDF and the node ID\'s SHA-256', /hkdf|crypto_hash_sha256|^hmac$|^Hash$|^digest$/],
  ['Merlin transcript (Keccak)', /keccak|^absorb|^runF$|^prf$|^beginOp$|^metaAd$|^ad$|appendMessage|challengeBytes|Strobe128|^clone$/],
  ['AEAD contexts and frames', /^nativeAead$|sealFrames|openFrames|createCipher/],
  ['socket writes', /^writeBuffer$|^writev$/],
  ['socket close', /^close$/],
  ['garbage collection', /^\(garbage collector\)$/]
]

function centerOf (n: ProfileNode): string {
  for (const [name, re] of CENTERS) if (re.test(n.callFrame.functionName)) return name
  const { url, functionName } = n.callFrame
  if (url.includes('/packages/')) return 'Switchyard JavaScript'
  if (url.startsWith('node:')) return 'Node internals (net, streams, events, timers)'
  // protobufjs compiles its codecs with new Function: no URL, no name.
  if (url.includes('protobufjs') || (url === '' && functionName === '')) return 'protobufjs codecs'
  if (url === '') return 'V8 and native (program, microtask runner)'
  return 'other libraries'
}

function main (): void {
  const [profilePath, resultsPath, benchName = 'handshakes accepted by a Switch, dialers in a child process'] = process.argv.slice(2)
  if (profilePath === undefined || resultsPath === undefined) {
    console.error('usage: profile-shares.js <listener.cpuprofile> <bench results .json> [bench name]')
    process.exit(2)
  }
  const profile = JSON.parse(readFileSync(profilePath, 'utf8')) as Profile
  const results = JSON.parse(readFileSync(resultsPath, 'utf8')) as { records: Array<{ bench: string, figures: Record<string, number> }> }
  const windows = results.records.filter(r => r.bench === benchName && r.figures.windowStartUs !== undefined)
    .map(r => [r.figures.windowStartUs!, r.figures.windowEndUs!] as const)
  if (windows.length === 0) throw new Error(`no measured windows of "${benchName}" in ${resultsPath}`)
  const byId = new Map(profile.nodes.map(n => [n.id, n]))
  const selfUs = new Map<number, number>()
  let t = profile.startTime
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0
    if (!windows.some(([a, b]) => t >= a && t <= b)) continue
    const id = profile.samples[i]!
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  }
  const centers = new Map<string, number>()
  const functions = new Map<string, number>()
  let busy = 0
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!
    if (n.callFrame.functionName === '(idle)') continue
    busy += us
    const c = centerOf(n)
    centers.set(c, (centers.get(c) ?? 0) + us)
    const f = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/(packages|node_modules)\//, '')}`
    functions.set(f, (functions.get(f) ?? 0) + us)
  }
  const pct = (us: number): string => `${(100 * us / busy).toFixed(1).padStart(5)} %`
  console.log(`${windows.length} windows, busy ${(busy / 1000).toFixed(0)} ms of samples; shares of busy time:`)
  for (const [c, us] of [...centers].sort((a, b) => b[1] - a[1])) console.log(`${pct(us)}  ${c}`)
  console.log('\ntop functions (self time):')
  for (const [f, us] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${pct(us)}  ${f}`)
}

main()
