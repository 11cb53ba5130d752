/** Hostile values for arguments and options: wrong types, out-of-range numbers, cycles, deep nesting. */

/** An object that contains itself. */
export function cyclic(): Record<string, unknown> {
  const o: Record<string, unknown> = { a: 1 }
  o['self'] = o
  return o
}

/** { a: { a: ... 1 } } nested `depth` deep, built without recursion. */
export function nested(depth: number, leaf: unknown = 1, key = 'a'): unknown {
  let v: unknown = leaf
  for (let i = 0; i < depth; i++) v = { [key]: v }
  return v
}

/** A filter nested `depth` levels of $and. */
export function nestedFilter(depth: number): unknown {
  let v: unknown = { a: 1 }
  for (let i = 0; i < depth; i++) v = { $and: [v] }
  return v
}

/** Values that are never a valid number argument (k, ids, counts), labelled. */
export const BAD_NUMBERS: [string, unknown][] = [
  ['null', null],
  ['undefined', undefined],
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['-Infinity', Number.NEGATIVE_INFINITY],
  ['-1', -1],
  ['1.5', 1.5],
  ['2^53', 2 ** 53],
  ['a numeric string', '3'],
  ['a BigInt', 3n],
  ['a Symbol', Symbol('x')],
  ['a function', () => 3],
  ['an object', { valueOf: () => 3 }],
  ['an array', [3]],
  ['true', true],
]

/** Values that are never a valid options object. */
export const BAD_OPTION_OBJECTS: [string, unknown][] = [
  ['null', null],
  ['5', 5],
  ["'x'", 'x'],
  ['true', true],
  ['a function', () => ({})],
  ['an array', []],
]

/** Values that are never a valid vector set (not a Float32Array or an array of finite numbers). */
export function badVectors(dim: number): [string, unknown, readonly string[]][] {
  const wrongLength = new Float32Array(dim + 1)
  const nan = new Float32Array(dim).fill(0.5)
  nan[dim - 1] = Number.NaN
  const inf = new Float32Array(dim).fill(0.5)
  inf[0] = Number.POSITIVE_INFINITY
  const huge = new Float32Array(dim).fill(0.5)
  huge[0] = 1e19
  return [
    ['null', null, ['BAD_VECTORS']],
    ['undefined', undefined, ['BAD_VECTORS']],
    ['a string', 'abcd', ['BAD_VECTORS']],
    ['a number', 5, ['BAD_VECTORS']],
    ['an object', { length: dim }, ['BAD_VECTORS']],
    ['a BigInt64Array', new BigInt64Array(dim), ['BAD_VECTORS']],
    ['a DataView', new DataView(new ArrayBuffer(dim * 4)), ['BAD_VECTORS']],
    ['an array with a string', ['a', 1, 2, 3].slice(0, dim), ['BAD_VECTORS', 'NON_FINITE_VALUE']],
    ['an array with a BigInt', [1n, 2, 3, 4].slice(0, dim), ['BAD_VECTORS', 'NON_FINITE_VALUE']],
    ['an array with a Symbol', [Symbol('s'), 2, 3, 4].slice(0, dim), ['BAD_VECTORS', 'NON_FINITE_VALUE']],
    ['the wrong length', wrongLength, ['DIMENSION_MISMATCH']],
    ['empty', new Float32Array(0), ['DIMENSION_MISMATCH', 'BAD_VECTORS', 'EMPTY_TRAINING_SET', 'BAD_IDS']],
    ['a NaN', nan, ['NON_FINITE_VALUE']],
    ['an Infinity', inf, ['NON_FINITE_VALUE']],
    ['a squared norm past 1e37', huge, ['VALUE_OUT_OF_RANGE']],
  ]
}

/** Values that are never valid metadata entries (BAD_METADATA). */
export function badMetadata(): [string, unknown][] {
  return [
    ['NaN', { a: Number.NaN }],
    ['-Infinity', { a: [1, Number.NEGATIVE_INFINITY] }],
    ['a BigInt', { a: 3n }],
    ['a function', { a: () => 1 }],
    ['a Symbol', { a: Symbol('s') }],
    ['a cycle', cyclic()],
    ['a Map', new Map([['a', 1]])],
    ['a Set', { s: new Set([1]) }],
    ['a Date', { d: new Date(0) }],
    ['nested 65 deep', nested(65)],
    ['nested 1e5 deep', nested(100_000)],
    [
      'an array nested 1e5 deep',
      (() => {
        let v: unknown = 1
        for (let i = 0; i < 100_000; i++) v = [v]
        return v
      })(),
    ],
    ['4 MiB + 1 of JSON', { s: 'x'.repeat(4 * 1024 * 1024) }],
    [
      'a class instance',
      new (class Point {
        x = 1
      })(),
    ],
  ]
}
