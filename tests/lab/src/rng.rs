//! A small reproducible random-number generator (xorshift64*) and the one byte mutator of the
//! mutation smoke tests, so that a failing input can be found again from its seed without a
//! dependency.

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

    /// A random byte.
    pub fn byte(&mut self) -> u8 {
        self.next_u64().to_le_bytes()[0]
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.byte()).collect()
    }

    /// `input` changed one to four times, each time by one of: a bit flipped, cut short, a byte
    /// inserted (one of `alphabet`, the bytes that matter to the parser under test, or any byte
    /// when it is empty), a byte overwritten with a boundary value (0, 1, 0x7f, 0x80, 0xff), a
    /// byte removed, or a slice repeated in place (lengths and counts then disagree).
    pub fn mutate(&mut self, input: &[u8], alphabet: &[u8]) -> Vec<u8> {
        let mut out = input.to_vec();
        for _ in 0..=self.below(4) {
            let at = self.below(out.len() + 1);
            match self.below(6) {
                0 if at < out.len() => out[at] ^= 1 << self.below(8),
                1 => out.truncate(at),
                2 => {
                    let byte = match alphabet.get(self.below(alphabet.len())) {
                        Some(&b) => b,
                        None => self.byte(),
                    };
                    out.insert(at, byte);
                }
                3 if at < out.len() => out[at] = [0, 1, 0x7f, 0x80, 0xff][self.below(5)],
                4 if at < out.len() => {
                    out.remove(at);
                }
                _ => {
                    let end = at + self.below(out.len() - at + 1);
                    let piece = out[at..end].to_vec();
                    let to = self.below(out.len() + 1);
                    out.splice(to..to, piece);
                }
            }
        }
        out
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

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn mutations_repeat_from_their_seed_and_use_every_kind_of_change() {
        let input = b"0123456789abcdef";
        let run = |seed| {
            let mut rng = Rng(seed);
            (0..500)
                .map(|_| rng.mutate(input, b"{}"))
                .collect::<Vec<_>>()
        };
        let first = run(7);
        assert_eq!(first, run(7));
        assert_ne!(first, run(8));
        assert!(first.iter().any(|m| m.len() < input.len()), "never cut");
        assert!(first.iter().any(|m| m.len() > input.len()), "never grew");
        assert!(
            first.iter().any(|m| m.contains(&b'{')),
            "alphabet never used"
        );
        assert!(
            first.iter().any(|m| m.contains(&0xff) || m.contains(&0x80)),
            "no boundary byte"
        );
        assert!(
            first.iter().any(|m| m.len() == input.len() && m != input),
            "never changed in place"
        );
    }

    #[test]
    fn an_empty_input_never_panics_and_can_grow() {
        let mut rng = Rng(3);
        for _ in 0..200 {
            let _ = rng.mutate(&[], &[]);
        }
        assert!((0..200).any(|_| !rng.mutate(&[], &[]).is_empty()));
    }
}
