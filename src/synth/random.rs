//! The seeded random numbers: splitmix64 seeding, the xoshiro256** stream of each chunk, and
//! weighted choice.

pub(super) fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// xoshiro256** (Blackman and Vigna), seeded through splitmix64.
pub(super) struct Rng {
    pub(super) s: [u64; 4],
}

impl Rng {
    /// The stream for chunk `stream` of seed `seed`.
    pub(super) fn new(seed: u64, stream: u64) -> Self {
        let mut sm = seed;
        let mixed = splitmix64(&mut sm) ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
        let mut state = mixed;
        let s = [
            splitmix64(&mut state),
            splitmix64(&mut state),
            splitmix64(&mut state),
            splitmix64(&mut state),
        ];
        Self { s }
    }

    fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `0..n` (multiply-shift; the bias is far below anything we measure).
    pub(super) fn below(&mut self, n: u32) -> u32 {
        (((self.next_u64() >> 32) * u64::from(n)) >> 32) as u32
    }

    pub(super) fn index(&mut self, len: usize) -> usize {
        self.below(u32::try_from(len).unwrap_or(u32::MAX)) as usize
    }

    /// An index skewed towards the start of a list (the more common entries).
    pub(super) fn skewed(&mut self, len: usize) -> usize {
        self.index(len).min(self.index(len))
    }

    pub(super) fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.index(list.len())]
    }

    pub(super) fn digit(&mut self) -> u8 {
        b'0' + self.below(10) as u8
    }
}

/// A cumulative weight table for sampling by weight.
pub(super) struct Weighted {
    cumulative: Vec<u32>,
}

impl Weighted {
    pub(super) fn new(weights: impl IntoIterator<Item = u32>) -> Self {
        let mut total = 0u32;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                total += w;
                total
            })
            .collect();
        Self { cumulative }
    }

    pub(super) fn sample(&self, rng: &mut Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0);
        let r = rng.below(total);
        self.cumulative.partition_point(|&c| c <= r)
    }
}
