/**
 * How far V8 lets the heap grow past what survives a full collection.
 *
 * An erase streams its listing (1,000 items per page) and keeps nothing per blob, but each parsed
 * page is garbage that lives long enough to reach V8's old generation, and by default V8 lets that
 * generation grow up to 4× what survived the last full collection before it collects again — so
 * the peak grew with the listing: the plan of 20,000 blobs peaked at 220 MB RSS, of 5,000 at
 * 172 MB. With a 20 % margin both stay at 144–149 MB. It costs CPU (more full collections: about
 * 10 % on an export of small blobs, which stays under 150 MB without it), so the commands that
 * list whole customers ask for it and `customer export` does not.
 *
 * V8 reads the flag at every collection, so setting it when a command starts is enough.
 */
import {setFlagsFromString} from 'node:v8'

export function keepHeapNearLive(): void {
  setFlagsFromString('--heap-growing-percent=20')
}
