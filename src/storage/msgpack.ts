/**
 * The one msgpack codec of the storage layer (msgpackr, typed arrays kept as typed arrays,
 * no record structures). The manifest, properties and the text-field name in an index file
 * and every record of a snapshot are encoded with it; its options fix the bytes on disk,
 * so they must not change.
 *
 * Imported from `msgpackr/pack`, which in Node is msgpackr's plain JavaScript build: the
 * package root also probes for its optional native string extractor (msgpackr-extract),
 * which costs about 20 ms at every process start for no gain on values this small. The
 * bytes written and read are the same either way.
 */
import { Packr } from 'msgpackr/pack'

const packr = new Packr({ moreTypes: true, useRecords: false })

/** Encodes a value as msgpack (typed arrays kept as typed arrays). */
export function packValue(v: unknown): Buffer {
  return packr.pack(v)
}

/** Decodes one msgpack value. */
export function unpackValue(b: Uint8Array): unknown {
  return packr.unpack(b)
}

/**
 * Decodes the concatenated msgpack values of buf, in order, handing each to visit. When buf
 * ends inside a value it throws msgpackr's error with `incomplete: true` and `lastPosition`
 * (where the unfinished value begins), so a streaming reader can carry the rest over.
 */
export function unpackMultiple(buf: Uint8Array, visit: (value: unknown) => void): void {
  packr.unpackMultiple(buf, (v: unknown) => {
    visit(v)
  })
}
