//! A small reproducible random-number generator (xorshift64*) for the mutation smoke tests,
//! so that a failing input can be found again from its seed without a dependency.

/// xorshift64* from a seed (any value but 0).
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// Up to 11 parts, each one of `pieces` (near misses of real values) or, one time in four,
    /// an arbitrary character; one value in 50 is then repeated 5,000 times (a very long one).
    pub fn near_miss(&mut self, pieces: &[&str]) -> String {
        let mut s = String::new();
        for _ in 0..self.below(12) {
            if self.below(4) == 0 {
                let code = (self.next_u64() % 0x11_0000) as u32;
                s.push(char::from_u32(code).unwrap_or('\u{fffd}'));
            } else if let Some(piece) = pieces.get(self.below(pieces.len())) {
                s.push_str(piece);
            }
        }
        if self.below(50) == 0 {
            s = s.repeat(5_000);
        }
        s
    }
}
