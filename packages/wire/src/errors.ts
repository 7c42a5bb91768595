/**
 * Every error Switchyard throws or reports is a SwitchyardError: `name` is the class name and `code`
 * is a stable string callers can switch on. The table in docs/errors.md is checked against the
 * classes by a test.
 */
export class SwitchyardError extends Error {
  readonly code: string

  constructor (code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}

/** Bytes from the network (or a file) that do not follow the wire format. */
export class MalformedMessageError extends SwitchyardError {
  constructor (message: string, options?: { cause?: unknown }) {
    super('ERR_MALFORMED_MESSAGE', message, options)
  }
}

/** A length prefix larger than the reader allows; refused before allocating. */
export class MessageTooLargeError extends SwitchyardError {
  readonly size: number
  readonly limit: number

  constructor (what: string, size: number, limit: number) {
    super('ERR_MESSAGE_TOO_LARGE', `${what} of ${size} bytes exceeds the limit of ${limit} bytes`)
    this.size = size
    this.limit = limit
  }
}

export const wireErrorCodes = ['ERR_MALFORMED_MESSAGE', 'ERR_MESSAGE_TOO_LARGE'] as const
