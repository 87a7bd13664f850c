package replica

import (
	"context"
	"testing"

	"github.com/dynkv/dynkv/version"
	"github.com/stretchr/testify/require"
)

// TestStore_RefusesUnreadableRecord: a write whose versions would break a
// record's limits is refused and leaves the key readable.
func TestStore_RefusesUnreadableRecord(t *testing.T) {
	s, _ := openMem(t, DurabilityNone)
	ctx := context.Background()
	key := []byte("k")
	_, err := s.Update(ctx, key, func(cur version.Siblings) (version.Siblings, error) {
		return version.Update(cur, s.Actor(), nil, 1, []byte("v"), false), nil
	})
	require.NoError(t, err)
	wide := make(version.VV, version.MaxVVEntries+1)
	for i := range wide {
		wide[i] = version.Entry{Actor: version.Actor(i + 100), Counter: 1}
	}
	_, err = s.Update(ctx, key, func(cur version.Siblings) (version.Siblings, error) {
		// version.Update would bound the Past; build the set by hand, as a
		// peer speaking nonsense could.
		return version.Siblings{{Dot: version.Dot{Actor: s.Actor(), Counter: 2}, Past: wide, Timestamp: 2, Value: []byte("w")}}, nil
	})
	require.ErrorIs(t, err, version.ErrTooManyVersions)
	ss, err := s.Get(ctx, key)
	require.NoError(t, err)
	v, _ := ss.Value()
	require.Equal(t, "v", string(v))
}
