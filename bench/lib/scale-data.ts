/**
 * The data of bench/scale-10m.ts, cached in a folder: base.fvecs and query.fvecs drawn by
 * writeSyntheticMixture block by block (never held whole), and groundtruth.ivecs, the exact
 * top-gtK of the first gtQueries queries, computed over the base file in blocks (exactKnn
 * per block, merged), so memory stays at one block whatever the set's size. Files appear
 * only when complete (written to a temporary name, renamed), so a killed run redoes just
 * what is missing.
 */
import { existsSync, mkdirSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { exactKnn, readVectorBlocks, vectorFileInfo } from 'vqlite'
import { writeSyntheticMixture } from '../../datasets/synthetic.js'
import { readFvecs, writeVecs } from '../../datasets/texmex.js'

export interface ScaleSet {
  readonly dir: string
  readonly base: string
  readonly query: string
  readonly gt: string
  readonly n: number
  readonly d: number
  readonly nq: number
  readonly gtQueries: number
  readonly gtK: number
}

export async function prepareScaleSet(
  dir: string,
  o: { n: number; d: number; nq: number; gtQueries: number; gtK: number; seed: number },
  log: (msg: string) => void,
): Promise<ScaleSet> {
  mkdirSync(dir, { recursive: true })
  const set: ScaleSet = {
    dir,
    base: join(dir, 'base.fvecs'),
    query: join(dir, 'query.fvecs'),
    gt: join(dir, 'groundtruth.ivecs'),
    n: o.n,
    d: o.d,
    nq: o.nq,
    gtQueries: o.gtQueries,
    gtK: o.gtK,
  }
  if (!existsSync(set.base) || !existsSync(set.query)) {
    const t0 = performance.now()
    let last = 0
    await writeSyntheticMixture({ n: o.n, d: o.d, nq: o.nq, seed: o.seed }, set.base, set.query, {
      onBlock: (done, total) => {
        if (performance.now() - last > 20_000) {
          last = performance.now()
          log(`  generating: ${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')}`)
        }
      },
    })
    log(`generated ${set.base} in ${((performance.now() - t0) / 1000).toFixed(0)} s`)
  }
  const info = await vectorFileInfo(set.base)
  if (info.n !== o.n || info.d !== o.d) throw new Error(`${set.base}: ${info.n} x ${info.d}, expected ${o.n} x ${o.d}; delete ${dir}`)
  if (!existsSync(set.gt)) {
    const t0 = performance.now()
    const q = (await readFvecs(set.query, { count: o.gtQueries })).data
    const nq = o.gtQueries
    const k = o.gtK
    const bestD = new Float32Array(nq * k).fill(Infinity)
    const bestI = new Int32Array(nq * k).fill(-1)
    const mergedD = new Float32Array(k)
    const mergedI = new Int32Array(k)
    for await (const b of readVectorBlocks(set.base, { blockRows: 500_000 })) {
      const r = exactKnn(b.x, b.n, q, nq, o.d, k, 'l2')
      for (let i = 0; i < nq; i++) {
        // Merge two sorted lists (ties: the smaller row, which is the earlier block's).
        let a = 0
        let c = 0
        for (let j = 0; j < k; j++) {
          const da = bestD[i * k + a]!
          const dc = r.distances[i * k + c]!
          if (da <= dc) {
            mergedD[j] = da
            mergedI[j] = bestI[i * k + a]!
            a++
          } else {
            mergedD[j] = dc
            mergedI[j] = b.start + r.labels[i * k + c]!
            c++
          }
        }
        bestD.set(mergedD, i * k)
        bestI.set(mergedI, i * k)
      }
      log(`  ground truth: ${(b.start + b.n).toLocaleString('en-US')} / ${o.n.toLocaleString('en-US')} base vectors`)
    }
    await writeVecs(`${set.gt}.tmp`, 'ivecs', bestI, nq, k)
    renameSync(`${set.gt}.tmp`, set.gt)
    log(`ground truth of ${nq} queries in ${((performance.now() - t0) / 1000).toFixed(0)} s`)
  }
  return set
}
