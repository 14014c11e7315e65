/** Bytes of one slab; the runs it takes: longer than V8 keeps on its heap, up to 4 KiB. */
const SLAB_BYTES = 32 * 1024;
const HEAP_MAX = 64;
const POOLED_MAX = 4096;

/**
 * Copies byte runs out of transient buffers (socket chunks) into arrays the caller may keep.
 * Up to 64 bytes a fresh array lives on V8's heap and is the cheapest; above that it is an
 * off-heap allocation (about 1 µs here), so runs up to 4 KiB share 32 KiB slabs and come back as
 * views (about 0.25 µs), as Node pools small Buffers. A kept view keeps its slab alive; a new slab
 * starts when one is full, and none is ever written twice.
 */
export class ByteSlab {
  private slab = new Uint8Array(0);
  private used = 0;

  /** A copy of `bytes[start, end)`. */
  copy(bytes: Uint8Array, start: number, end: number): Uint8Array {
    const n = end - start;
    if (n <= HEAP_MAX || n > POOLED_MAX) return bytes.slice(start, end);
    if (this.used + n > this.slab.length) {
      this.slab = new Uint8Array(SLAB_BYTES);
      this.used = 0;
    }
    const at = this.used;
    const slab = this.slab;
    slab.set(bytes.subarray(start, end), at);
    this.used = at + n;
    return new Uint8Array(slab.buffer, at, n);
  }
}
