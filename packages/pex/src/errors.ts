import { SwitchyardError } from '@switchyard/wire'

/** addrbook.json could not be read or parsed; a corrupt file was moved aside to `quarantinedTo`. */
export class AddrBookFileError extends SwitchyardError {
  readonly path: string
  readonly quarantinedTo: string | undefined
  constructor (path: string, problem: string, quarantinedTo?: string, options?: { cause?: unknown }) {
    super('ERR_ADDRBOOK_FILE', `${path}: ${problem}${quarantinedTo !== undefined ? ` (moved aside to ${quarantinedTo})` : ''}`, options)
    this.path = path
    this.quarantinedTo = quarantinedTo
  }
}

/**
 * The addr_book_file path holds something that is not an address book (another JSON file, a
 * non-JSON file, a device, a directory, a symbolic link). It is refused and never touched: a wrong
 * path must not destroy the file it points at.
 */
export class NotAnAddrBookError extends SwitchyardError {
  readonly path: string
  constructor (path: string, problem: string) {
    super('ERR_NOT_AN_ADDRBOOK', `${path} ${problem}; it is not an address book and is left untouched (check p2p.addr_book_file)`)
    this.path = path
  }
}

/** A peer asked for addresses sooner than the minimum interval allows. */
export class PexRequestTooSoonError extends SwitchyardError {
  constructor (id: string, sinceMs: number, minMs: number) {
    super('ERR_PEX_TOO_SOON', `peer ${id} asked for addresses ${Math.round(sinceMs)} ms after its previous request (minimum ${minMs} ms)`)
  }
}

/** A peer sent addresses we did not ask for. */
export class PexUnsolicitedError extends SwitchyardError {
  constructor (id: string) {
    super('ERR_PEX_UNSOLICITED', `peer ${id} sent addresses we did not request`)
  }
}

/** Seed mode: an inbound peer did not ask for addresses within the grace period, and was let go. */
export class PexNoRequestError extends SwitchyardError {
  constructor (id: string, graceMs: number) {
    super('ERR_PEX_NO_REQUEST', `peer ${id} did not ask for addresses within ${graceMs} ms of connecting to this seed`)
  }
}

/** A PexAddrs message held an address that is not an IP and port. */
export class PexInvalidAddressError extends SwitchyardError {
  constructor (id: string, problem: string) {
    super('ERR_PEX_INVALID_ADDRESS', `peer ${id} sent an invalid address: ${problem}`)
  }
}

export const pexErrorCodes = ['ERR_ADDRBOOK_FILE', 'ERR_NOT_AN_ADDRBOOK', 'ERR_PEX_TOO_SOON', 'ERR_PEX_UNSOLICITED', 'ERR_PEX_INVALID_ADDRESS', 'ERR_PEX_NO_REQUEST'] as const
