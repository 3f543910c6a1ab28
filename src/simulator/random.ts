/** Small seeded PRNG so the simulator's progress is reproducible given a seed. */

/** Mulberry32: a 32-bit seeded generator returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A generator for one record (order or refill), independent of how records interleave. */
export function recordRandom(seed: number, salt: number, id: number): () => number {
  return mulberry32(Math.imul(seed ^ salt, 0x9e3779b1) ^ id);
}
