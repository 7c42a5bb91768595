/** decideAdmission: every rule of the pure admission decision, one outcome per test. */
import { describe, expect, it } from 'vitest'
import { decideAdmission, type AdmissionPolicy, type AdmittedPeerView } from '../src/admission.js'

const ours = '5'.repeat(40)
const lower = '1'.repeat(40) // sorts before ours
const higher = 'a'.repeat(40) // sorts after ours

function policy (over: Partial<AdmissionPolicy> = {}): AdmissionPolicy {
  return { ourId: ours, maxInboundPeers: 2, maxOutboundPeers: 2, allowDuplicateIp: false, unconditional: new Set(), persistent: new Set(), simultaneousConnectWindow: 2000, ...over }
}

function peers (...list: Array<Partial<AdmittedPeerView> & { id: string }>): Map<string, AdmittedPeerView> {
  return new Map(list.map((p, i) => [p.id, { outbound: false, remoteIp: `10.0.0.${i + 1}`, addedAt: 0, ...p }]))
}

const code = (a: ReturnType<typeof decideAdmission>): string => a.accept ? 'accept' : a.error.code

describe('decideAdmission', () => {
  it('accepts a new inbound peer under the limits, neither persistent nor unconditional', () => {
    expect(decideAdmission(policy(), peers(), { id: higher, outbound: false, remoteIp: '10.1.1.1' }, true, 0))
      .toEqual({ accept: true, persistent: false, unconditional: false })
  })

  it('refuses anything once the switch is not running (ERR_SWITCH_STOPPED)', () => {
    expect(code(decideAdmission(policy(), peers(), { id: higher, outbound: true, remoteIp: '10.1.1.1' }, false, 0))).toBe('ERR_SWITCH_STOPPED')
  })

  it('refuses an inbound peer at the inbound limit, but not an unconditional one', () => {
    const two = peers({ id: 'b'.repeat(40) }, { id: 'c'.repeat(40) })
    expect(code(decideAdmission(policy(), two, { id: higher, outbound: false, remoteIp: '10.1.1.1' }, true, 0))).toBe('ERR_TOO_MANY_PEERS')
    expect(decideAdmission(policy({ unconditional: new Set([higher]) }), two, { id: higher, outbound: false, remoteIp: '10.1.1.1' }, true, 0))
      .toEqual({ accept: true, persistent: false, unconditional: true })
  })

  it('refuses an outbound peer at the outbound limit unless persistent, unconditional or exempt', () => {
    const two = peers({ id: 'b'.repeat(40), outbound: true }, { id: 'c'.repeat(40), outbound: true })
    const c = { id: higher, outbound: true, remoteIp: '10.1.1.1' }
    expect(code(decideAdmission(policy(), two, c, true, 0))).toBe('ERR_TOO_MANY_PEERS')
    expect(code(decideAdmission(policy({ persistent: new Set([higher]) }), two, c, true, 0))).toBe('accept')
    expect(code(decideAdmission(policy(), two, { ...c, persistentDial: true }, true, 0))).toBe('accept')
    expect(code(decideAdmission(policy(), two, { ...c, exemptFromLimits: true }, true, 0))).toBe('accept')
    expect(code(decideAdmission(policy({ unconditional: new Set([higher]) }), two, c, true, 0))).toBe('accept')
  })

  it('counts directions apart: full outbound does not block an inbound peer', () => {
    const two = peers({ id: 'b'.repeat(40), outbound: true }, { id: 'c'.repeat(40), outbound: true })
    expect(code(decideAdmission(policy(), two, { id: higher, outbound: false, remoteIp: '10.1.1.1' }, true, 0))).toBe('accept')
  })

  it('refuses a second peer from the same IP (ERR_DUPLICATE_IP) unless allowed or unconditional', () => {
    const one = peers({ id: 'b'.repeat(40), remoteIp: '10.9.9.9' })
    const c = { id: higher, outbound: false, remoteIp: '10.9.9.9' }
    expect(code(decideAdmission(policy(), one, c, true, 0))).toBe('ERR_DUPLICATE_IP')
    expect(code(decideAdmission(policy({ allowDuplicateIp: true }), one, c, true, 0))).toBe('accept')
    expect(code(decideAdmission(policy({ unconditional: new Set([higher]) }), one, c, true, 0))).toBe('accept')
  })

  it('refuses a duplicate ID outside the simultaneous-connect window (ERR_DUPLICATE_PEER)', () => {
    const one = peers({ id: higher, outbound: false, addedAt: 0 })
    expect(code(decideAdmission(policy(), one, { id: higher, outbound: true, remoteIp: '10.1.1.1' }, true, 5000))).toBe('ERR_DUPLICATE_PEER')
  })

  it('within the window keeps the connection the lower ID dialed: we are lower, so our dial replaces theirs', () => {
    const one = peers({ id: higher, outbound: false, addedAt: 1000, remoteIp: '10.1.1.1' })
    const a = decideAdmission(policy(), one, { id: higher, outbound: true, remoteIp: '10.1.1.1' }, true, 1500)
    // The peer being replaced does not count against the duplicate-IP rule or the limits.
    expect(a).toEqual({ accept: true, persistent: false, unconditional: false, replaces: higher })
  })

  it('within the window, the connection the higher ID dialed never replaces the other', () => {
    // We (5…) are higher than 1…: their dial (inbound to us) is the one both sides keep.
    const theirsKept = peers({ id: lower, outbound: false, addedAt: 1000 })
    expect(code(decideAdmission(policy(), theirsKept, { id: lower, outbound: true, remoteIp: '10.1.1.1' }, true, 1500))).toBe('ERR_DUPLICATE_PEER')
    const oursFirst = peers({ id: lower, outbound: true, addedAt: 1000, remoteIp: '10.1.1.1' })
    expect(decideAdmission(policy(), oursFirst, { id: lower, outbound: false, remoteIp: '10.1.1.1' }, true, 1500)).toMatchObject({ accept: true, replaces: lower })
  })
})
