//! Identifiers that are unique by construction: a bijection from a sequence index onto
//! `1..=modulus`, so no set of issued numbers has to be kept (10^6 people stream in constant
//! memory) and consecutive people do not get consecutive numbers.

use crate::rng::SplitMix64;

#[derive(Clone, Copy, Debug)]
pub struct IdScramble {
    modulus: u64,
    mul: u64,
    add: u64,
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl IdScramble {
    /// `i ↦ (mul·i + add) mod modulus + 1`, with `mul` coprime to `modulus` so the map is a
    /// bijection on `0..modulus`. The `+ 1` keeps 0 out (an all-zero My Number is refused).
    pub fn new(modulus: u64, rng: &mut SplitMix64) -> Self {
        let mut mul = rng.between(modulus / 3, modulus - 1);
        while gcd(mul, modulus) != 1 {
            mul -= 1;
        }
        IdScramble {
            modulus,
            mul,
            add: rng.below(modulus),
        }
    }

    /// The identifier of item `index`, zero-padded to `width` digits. Unique while
    /// `index < modulus`; past that, numbers repeat.
    pub fn digits(&self, index: u64, width: usize) -> String {
        let m = u128::from(self.modulus);
        let v =
            (u128::from(self.mul) * u128::from(index % self.modulus) + u128::from(self.add)) % m;
        format!("{:0width$}", v + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_a_bijection_on_a_small_modulus() {
        let s = IdScramble::new(999, &mut SplitMix64::new(5));
        let mut seen: Vec<String> = (0..999).map(|i| s.digits(i, 3)).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 999);
        assert!(seen.iter().all(|d| d.len() == 3 && d != "000"));
    }
}
