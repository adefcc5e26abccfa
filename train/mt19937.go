package train

// mt19937 is the Mersenne Twister of numpy's legacy RandomState, so that
// data sets defined by a numpy seed are reproduced bit for bit.
type mt19937 struct {
	state [624]uint32
	index int
}

// newMT19937 seeds like numpy's RandomState(seed) for an integer seed
// (init_genrand).
func newMT19937(seed uint32) *mt19937 {
	m := &mt19937{index: 624}
	m.state[0] = seed
	for i := 1; i < 624; i++ {
		prev := m.state[i-1]
		m.state[i] = 1812433253*(prev^(prev>>30)) + uint32(i)
	}
	return m
}

func (m *mt19937) Uint32() uint32 {
	if m.index >= 624 {
		for i := range 624 {
			y := (m.state[i] & 0x80000000) | (m.state[(i+1)%624] & 0x7fffffff)
			v := m.state[(i+397)%624] ^ (y >> 1)
			if y&1 != 0 {
				v ^= 0x9908b0df
			}
			m.state[i] = v
		}
		m.index = 0
	}
	y := m.state[m.index]
	m.index++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

// Float64 is numpy's random_sample: 53 random bits from two draws.
func (m *mt19937) Float64() float64 {
	a := m.Uint32() >> 5
	b := m.Uint32() >> 6
	return (float64(a)*67108864.0 + float64(b)) / 9007199254740992.0
}

// IntN is numpy's legacy randint(n) for small n: masked rejection sampling
// on 32-bit draws.
func (m *mt19937) IntN(n uint32) uint32 {
	maxV := n - 1
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
