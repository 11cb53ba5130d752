/** Expectations on the library's errors. */
import { expect } from 'vitest'
import { VqError } from '../../src/errors.js'

/** Runs fn, expecting a VqError of the given class and code (and message, when given); returns it. */
export function expectVqError(fn: () => unknown, cls: new (...a: never[]) => VqError, code: string, message?: RegExp): VqError {
  let caught: unknown
  try {
    fn()
  } catch (e) {
    caught = e
  }
  expect(caught).toBeInstanceOf(cls)
  expect((caught as VqError).code).toBe(code)
  if (message) expect((caught as VqError).message).toMatch(message)
  return caught as VqError
}

/** Expects find(name), for a package that is not installed, to throw VqError MISSING_DEPENDENCY giving `npm install <name>`. */
export function expectMissingDependency(find: (name: string) => unknown): void {
  const name = 'vqlite-no-such-package'
  expectVqError(() => find(name), VqError, 'MISSING_DEPENDENCY', new RegExp(`npm install ${name}`))
}
