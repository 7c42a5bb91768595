/**
 * Browser build of keccak.ts (swapped in through package.json's "browser" field): @noble/hashes'
 * looped Keccak-f[1600], the same state layout. A page runs a handful of handshakes, so it keeps
 * the smaller code: the unrolled one adds ~1.5 KB min+gzip to the bundle for speed it never needs.
 */
import { keccakP } from '@noble/hashes/sha3.js'

export function keccakF1600 (s: Uint32Array): void {
  keccakP(s)
}
