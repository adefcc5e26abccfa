package train

// mt19937 is the 32-bit Mersenne Twister exactly as numpy's legacy
// np.random.RandomState drives it. The Yin-Yang reference sets are defined by
// RandomState seeds (dataset.py in lkriener/yin_yang_data_set), so
// reproducing them bit for bit needs numpy's generator, seeding and
// conversions rather than math/rand. It is not safe for concurrent use; each
// data set owns its own.
type mt19937 struct {
	state [mtN]uint32
	index int
}

const (
	mtN         = 624
	mtM         = 397
	mtMatrixA   = 0x9908b0df
	mtUpperMask = 0x80000000
	mtLowerMask = 0x7fffffff
)

// newMT19937 seeds like np.random.RandomState(seed) for an integer seed,
// which numpy hands to init_genrand (Matsumoto & Nishimura 2002), not to
// init_by_array: RandomState([seed]) would give another stream.
func newMT19937(seed uint32) *mt19937 {
	m := &mt19937{index: mtN}
	m.state[0] = seed
	for i := 1; i < mtN; i++ {
		prev := m.state[i-1]
		m.state[i] = 1812433253*(prev^(prev>>30)) + uint32(i)
	}
	return m
}

// twist regenerates the whole state block (genrand_int32's refill).
func (m *mt19937) twist() {
	for i := range mtN {
		y := (m.state[i] & mtUpperMask) | (m.state[(i+1)%mtN] & mtLowerMask)
		v := m.state[(i+mtM)%mtN] ^ (y >> 1)
		if y&1 != 0 {
			v ^= mtMatrixA
		}
		m.state[i] = v
	}
	m.index = 0
}

// Uint32 is the next tempered 32-bit output (numpy's random_raw for MT19937).
func (m *mt19937) Uint32() uint32 {
	if m.index >= mtN {
		m.twist()
	}
	y := m.state[m.index]
	m.index++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

// Float64 is numpy's random_sample / rand(): 53 random bits in [0, 1) built
// from two draws, the first's high 27 bits above the second's high 26 bits.
// Both products and the sum are exact, so the result does not depend on
// floating-point contraction.
func (m *mt19937) Float64() float64 {
	a := m.Uint32() >> 5
	b := m.Uint32() >> 6
	return (float64(a)*67108864.0 + float64(b)) / 9007199254740992.0
}

// IntN is numpy's legacy RandomState.randint(n) for n < 2^32: 32-bit draws
// masked to the smallest 2^k-1 >= n-1, rejected while above n-1. Like numpy,
// IntN(1) returns 0 without consuming a draw, which keeps later draws
// aligned with numpy's stream. It panics if n is 0 (numpy raises too).
func (m *mt19937) IntN(n uint32) uint32 {
	if n == 0 {
		panic("mt19937: IntN(0)")
	}
	maxV := n - 1
	if maxV == 0 {
		return 0
	}
	mask := maxV
	for s := uint(1); s < 32; s <<= 1 {
		mask |= mask >> s
	}
	for {
		if v := m.Uint32() & mask; v <= maxV {
			return v
		}
	}
}
