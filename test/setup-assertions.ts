// Every test must assert something: a test that makes no expect() call fails (a test that cannot
// fail is a defect). Waiting for a condition is not an assertion; check what was waited for.
import { beforeEach, expect } from 'vitest'

beforeEach(() => { expect.hasAssertions() })
