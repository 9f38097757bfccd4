// Keeps the heap near what custos really holds. custos streams everything that grows with a
// customer, but each parsed List Blobs page and each batch response is garbage that lives long
// enough to reach V8's old generation, and by default V8 lets that generation grow up to 4× what
// survived the last full collection before it collects again. Listing 20,000 blobs for an erase
// plan then peaked at 220 MB RSS; with a 20 % margin it stays near 150 MB (measured in the README).
// The flag is read at every collection, so setting it before anything else loads is enough.
import {setFlagsFromString} from 'node:v8'

setFlagsFromString('--heap-growing-percent=20')
