package hashslot

import "testing"

func TestOf_MatchesRedisCluster(t *testing.T) {
	// Values from the Redis Cluster specification and CLUSTER KEYSLOT.
	for _, tc := range []struct {
		key  string
		slot int
	}{
		{"123456789", 12739}, // CRC16/XMODEM check value 0x31C3 mod 16384
		{"foo", 12182},
		{"bar", 5061},
		{"{user1000}.following", 3443},
		{"{user1000}.followers", 3443},
		{"user1000", 3443},
		{"foo{}{bar}", 8363},    // empty first tag: the whole key is hashed
		{"foo{{bar}}zap", 4015}, // tag is "{bar"
		{"foo{bar}{zap}", 5061}, // first tag only: "bar"
		{"", 0},
	} {
		t.Run(tc.key, func(t *testing.T) {
			if got := Of([]byte(tc.key)); got != tc.slot {
				t.Fatalf("Of(%q) = %d, want %d", tc.key, got, tc.slot)
			}
		})
	}
}
