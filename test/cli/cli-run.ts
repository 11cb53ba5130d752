/** Shared pieces of the CLI tests: running the built binary, small files, index state. */
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { VqIndex } from 'vqlite'

export const CLI = join(import.meta.dirname, '..', '..', 'cli', 'dist', 'cli', 'vqlite.js')

export interface Run {
  status: number | null
  stdout: string
  stderr: string
  /** stdout and stderr together, for assertion messages. */
  all: string
}

/** Runs the built CLI in `cwd`, stdin closed; a run that hangs is killed after `timeout` ms (status null). */
export function runIn(cwd: string, args: string[], timeout = 30_000): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'] })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, all: `exit ${String(r.status ?? r.signal)}\n${r.stdout}\n${r.stderr}` }
}

/** A .fvecs file of n vectors of dimension d (row-major in x). */
export function writeFvecs(path: string, x: ArrayLike<number>, n: number, d: number): void {
  const b = Buffer.alloc(n * (4 + 4 * d))
  for (let i = 0; i < n; i++) {
    const o = i * (4 + 4 * d)
    b.writeInt32LE(d, o)
    for (let t = 0; t < d; t++) b.writeFloatLE(x[i * d + t]!, o + 4 + 4 * t)
  }
  writeFileSync(path, b)
}

/** A .bvecs file of n byte vectors of dimension d. */
export function writeBvecs(path: string, x: ArrayLike<number>, n: number, d: number): void {
  const b = Buffer.alloc(n * (4 + d))
  for (let i = 0; i < n; i++) {
    b.writeInt32LE(d, i * (4 + d))
    for (let t = 0; t < d; t++) b[i * (4 + d) + 4 + t] = x[i * d + t]!
  }
  writeFileSync(path, b)
}

/** A version-1 .npy file of float64 values with the given shape. */
export function writeNpyF8(path: string, values: number[], shape: number[]): void {
  const hdr = `{'descr': '<f8', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`
  const pad = 64 - ((10 + hdr.length + 1) % 64)
  const head = Buffer.concat([
    Buffer.from([0x93]),
    Buffer.from('NUMPY'),
    Buffer.from([1, 0]),
    Buffer.alloc(2),
    Buffer.from(`${hdr}${' '.repeat(pad)}\n`, 'latin1'),
  ])
  head.writeUInt16LE(hdr.length + pad + 1, 8)
  const body = Buffer.alloc(values.length * 8)
  values.forEach((v, i) => {
    body.writeDoubleLE(v, i * 8)
  })
  writeFileSync(path, Buffer.concat([head, body]))
}

/** count, trained state and the ids (ascending, up to 100,000) of an index file, read in this process. */
export async function stateOf(path: string): Promise<{ count: number; trained: boolean; ids: number[] }> {
  const ix = VqIndex.open(path, { readonly: true })
  try {
    const ids = ix.find({}, 100_000).map((r) => r.id)
    return { count: ix.size, trained: ix.isTrained, ids }
  } finally {
    await ix.close()
  }
}
