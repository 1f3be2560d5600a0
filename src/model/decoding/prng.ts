/**
 * SplitMix64 (Steele, Lea, Flood 2014), the generator of decoding=sample: 64-bit state, one output per
 * call, doubles from the top 53 bits. Tiny, portable, and specified in docs/decoding.md so another
 * implementation reproduces every draw.
 */
const MASK = (1n << 64n) - 1n;
const GAMMA = 0x9e3779b97f4a7c15n;
const TWO_POW_53 = 2 ** 53;

export class SplitMix64 {
  private state: bigint;

  /** The stream of caption row `row` of a request with `seed`: state = seed * 2^32 + row. */
  constructor(seed: number, row = 0) {
    this.state = ((BigInt(seed) << 32n) | BigInt(row)) & MASK;
  }

  nextUint64(): bigint {
    this.state = (this.state + GAMMA) & MASK;
    let z = this.state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK;
    return z ^ (z >> 31n);
  }

  /** A double in [0, 1): the top 53 bits / 2^53 (exact). */
  nextDouble(): number {
    return Number(this.nextUint64() >> 11n) / TWO_POW_53;
  }
}
