/**
 * Whether a soak run passed: `pnpm soak` exits non-zero when it did not, so a run in CI or a
 * script cannot report success while messages were lost.
 */
export interface SoakTotals {
  messagesDelivered: number
  messagesLost: number
  duplicates: number
}

export function soakVerdict (r: SoakTotals): { ok: boolean, problems: string[] } {
  const problems: string[] = []
  if (r.messagesLost > 0) problems.push(`${r.messagesLost} messages lost on live connections`)
  if (r.duplicates > 0) problems.push(`${r.duplicates} messages delivered twice or out of order`)
  if (r.messagesDelivered === 0) problems.push('no message was delivered: the run measured nothing')
  return { ok: problems.length === 0, problems }
}
