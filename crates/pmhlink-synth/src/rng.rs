//! SplitMix64: tiny, seedable and stable across platforms and crate versions, which is what
//! byte-identical test data needs (a general-purpose RNG crate may change its stream).

/// The SplitMix64 output function, also used to derive independent streams.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// Which independent stream of one seed a generator draws from. Separate streams keep, for
/// example, the people of a run identical whatever share of defects is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Person = 1,
    Defect = 2,
    Scramble = 3,
}

#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The generator for item `index` of `stream`: random access, so people can be generated
    /// one at a time in any order and still come out the same.
    pub fn derive(seed: u64, stream: Stream, index: u64) -> Self {
        let stream_key = mix(seed ^ mix(stream as u64));
        SplitMix64::new(mix(stream_key ^ index.wrapping_mul(GOLDEN_GAMMA)))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        mix(self.state)
    }

    /// Uniform in `0..n` by multiply-shift; the bias (n / 2^64) is far below what test data
    /// could show.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0)");
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// Uniform in `[0, 1)` with 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// An index drawn with the given relative weights.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let mut x = self.below(total);
        for (i, &w) in weights.iter().enumerate() {
            if x < u64::from(w) {
                return i;
            }
            x -= u64::from(w);
        }
        unreachable!("x < total")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_values() {
        // The published SplitMix64 outputs for seed 1234567.
        let mut r = SplitMix64::new(1_234_567);
        assert_eq!(r.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(r.next_u64(), 3_203_168_211_198_807_973);
    }

    #[test]
    fn streams_differ_and_repeat() {
        let a = SplitMix64::derive(7, Stream::Person, 3).next_u64();
        assert_eq!(a, SplitMix64::derive(7, Stream::Person, 3).next_u64());
        assert_ne!(a, SplitMix64::derive(7, Stream::Defect, 3).next_u64());
        assert_ne!(a, SplitMix64::derive(7, Stream::Person, 4).next_u64());
        assert_ne!(a, SplitMix64::derive(8, Stream::Person, 3).next_u64());
    }

    #[test]
    fn ranges_hold() {
        let mut r = SplitMix64::new(1);
        for _ in 0..10_000 {
            assert!(r.below(7) < 7);
            assert!((3..=5).contains(&r.between(3, 5)));
            assert!((0.0..1.0).contains(&r.unit()));
            assert!(r.weighted(&[0, 5, 0, 1]) % 2 == 1);
        }
    }
}
