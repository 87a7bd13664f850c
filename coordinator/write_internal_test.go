package coordinator

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/errdefs"
	"github.com/dynkv/dynkv/peer"
	"github.com/dynkv/dynkv/version"
)

func TestWrite_NewVersion(t *testing.T) {
	live := version.Siblings{{Dot: version.Dot{Actor: 1, Counter: 1}, Timestamp: 1, Value: []byte("ab")}}
	dead := version.Update(live, 2, nil, 5, nil, true) // a tombstone concurrent with the value, and later
	ttl := version.Siblings{{Dot: version.Dot{Actor: 1, Counter: 1}, Timestamp: 1, Value: []byte("ab"), Expiry: 500}}
	const now = 100 // unix ms
	for _, tc := range []struct {
		name   string
		cur    version.Siblings
		w      Write
		want   string
		tomb   bool
		expiry int64
		err    error
	}{
		{name: "set", cur: live, w: Write{Data: []byte("x")}, want: "x"},
		{name: "nx on value", cur: live, w: Write{Cond: CondAbsent, Data: []byte("x")}, err: ErrCondition},
		{name: "nx on nothing", w: Write{Cond: CondAbsent, Data: []byte("x")}, want: "x"},
		{name: "nx on tombstone winner", cur: dead, w: Write{Cond: CondAbsent, Data: []byte("x")}, want: "x"},
		{name: "xx on nothing", w: Write{Cond: CondPresent, Data: []byte("x")}, err: ErrCondition},
		{name: "xx on value", cur: live, w: Write{Cond: CondPresent, Data: []byte("x")}, want: "x"},
		{name: "delete any value under a tombstone", cur: dead, w: Write{Op: OpDelete, Cond: CondAnyValue}, tomb: true},
		{name: "delete nothing", w: Write{Op: OpDelete, Cond: CondAnyValue}, err: ErrCondition},
		{name: "append", cur: live, w: Write{Op: OpAppend, Data: []byte("c")}, want: "abc"},
		{name: "append to nothing", w: Write{Op: OpAppend, Data: []byte("c")}, want: "c"},
		{name: "append too large", cur: live, w: Write{Op: OpAppend, Data: []byte("c"), MaxSize: 2}, err: ErrTooLarge},
		{name: "set too large", w: Write{Data: []byte("abc"), MaxSize: 2}, err: ErrTooLarge},
		{name: "setrange inside", cur: live, w: Write{Op: OpSetRange, Data: RangeData(1, []byte("X"))}, want: "aX"},
		{name: "setrange pads", cur: live, w: Write{Op: OpSetRange, Data: RangeData(4, []byte("X"))}, want: "ab\x00\x00X"},
		{name: "setrange on nothing", w: Write{Op: OpSetRange, Data: RangeData(2, []byte("X"))}, want: "\x00\x00X"},
		{name: "setrange too large", cur: live, w: Write{Op: OpSetRange, Data: RangeData(2, []byte("X")), MaxSize: 2}, err: ErrTooLarge},
		{name: "setrange garbage", w: Write{Op: OpSetRange, Data: []byte{0xff}}, err: errdefs.ErrBadRequest},
		{name: "setbit sets", cur: live, w: Write{Op: OpSetBit, Data: BitData(6, 1)}, want: "cb"},
		{name: "setbit clears", cur: live, w: Write{Op: OpSetBit, Data: BitData(14, 0)}, want: "a`"},
		{name: "setbit pads", w: Write{Op: OpSetBit, Data: BitData(17, 1)}, want: "\x00\x00@"},
		{name: "setbit too large", w: Write{Op: OpSetBit, Data: BitData(16, 1), MaxSize: 2}, err: ErrTooLarge},
		{name: "setbit not a bit", w: Write{Op: OpSetBit, Data: BitData(1, 2)}, err: errdefs.ErrBadRequest},
		{name: "setrange keepttl", cur: ttl, w: Write{Op: OpSetRange, Data: RangeData(0, []byte("X")), KeepTTL: true}, want: "Xb", expiry: 500},
		// Expiries.
		{name: "set with expiry", cur: ttl, w: Write{Data: []byte("x"), Expiry: 200}, want: "x", expiry: 200},
		{name: "set clears the expiry", cur: ttl, w: Write{Data: []byte("x")}, want: "x"},
		{name: "set keepttl", cur: ttl, w: Write{Data: []byte("x"), KeepTTL: true}, want: "x", expiry: 500},
		{name: "set keepttl on nothing", w: Write{Data: []byte("x"), KeepTTL: true}, want: "x"},
		{name: "append keepttl", cur: ttl, w: Write{Op: OpAppend, Data: []byte("c"), KeepTTL: true}, want: "abc", expiry: 500},
		{name: "set with a past expiry deletes", cur: live, w: Write{Data: []byte("x"), Expiry: now}, tomb: true},
		{name: "expire", cur: live, w: Write{Op: OpExpire, Expiry: 300}, want: "ab", expiry: 300},
		{name: "expire nothing", w: Write{Op: OpExpire, Expiry: 300}, err: ErrCondition},
		{name: "expire nothing in the past", w: Write{Op: OpExpire, Expiry: 1}, err: ErrCondition},
		{name: "expire under a tombstone winner", cur: dead, w: Write{Op: OpExpire, Expiry: 300}, err: ErrCondition},
		{name: "expire in the past deletes", cur: live, w: Write{Op: OpExpire, Expiry: now}, tomb: true},
		{name: "persist", cur: ttl, w: Write{Op: OpExpire, Cond: CondHasExpiry}, want: "ab"},
		{name: "persist without expiry", cur: live, w: Write{Op: OpExpire, Cond: CondHasExpiry}, err: ErrCondition},
		{name: "nx with expiry", cur: ttl, w: Write{Op: OpExpire, Cond: CondNoExpiry, Expiry: 300}, err: ErrCondition},
		{name: "nx without", cur: live, w: Write{Op: OpExpire, Cond: CondNoExpiry, Expiry: 300}, want: "ab", expiry: 300},
		{name: "xx without", cur: live, w: Write{Op: OpExpire, Cond: CondHasExpiry, Expiry: 300}, err: ErrCondition},
		{name: "gt without expiry (infinite)", cur: live, w: Write{Op: OpExpire, Cond: CondLaterExpiry, Expiry: 300}, err: ErrCondition},
		{name: "gt later", cur: ttl, w: Write{Op: OpExpire, Cond: CondLaterExpiry, Expiry: 600}, want: "ab", expiry: 600},
		{name: "gt earlier", cur: ttl, w: Write{Op: OpExpire, Cond: CondLaterExpiry, Expiry: 400}, err: ErrCondition},
		{name: "lt without expiry", cur: live, w: Write{Op: OpExpire, Cond: CondEarlierExpiry, Expiry: 300}, want: "ab", expiry: 300},
		{name: "lt earlier", cur: ttl, w: Write{Op: OpExpire, Cond: CondEarlierExpiry, Expiry: 400}, want: "ab", expiry: 400},
		{name: "lt later", cur: ttl, w: Write{Op: OpExpire, Cond: CondEarlierExpiry, Expiry: 600}, err: ErrCondition},
		{name: "xx lt without expiry", cur: live, w: Write{Op: OpExpire, Cond: CondExpiryAfter, Expiry: 300}, err: ErrCondition},
		{name: "xx lt earlier", cur: ttl, w: Write{Op: OpExpire, Cond: CondExpiryAfter, Expiry: 400}, want: "ab", expiry: 400},
		{name: "lt in the past deletes", cur: ttl, w: Write{Op: OpExpire, Cond: CondEarlierExpiry, Expiry: 1}, tomb: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, tomb, expiry, err := tc.w.newVersion(tc.cur, now)
			if !errors.Is(err, tc.err) || (err == nil && (string(v) != tc.want || tomb != tc.tomb || expiry != tc.expiry)) {
				t.Fatalf("got %q %v %d %v, want %q %v %d %v", v, tomb, expiry, err, tc.want, tc.tomb, tc.expiry, tc.err)
			}
		})
	}
	if string(live[0].Value) != "ab" {
		t.Fatal("append modified the stored value")
	}
}

// TestForward_FitsARecordsFrame: a forwarded write of the largest value,
// the largest key and the largest client context is no longer than a
// store op carrying a record of one such value with the largest versions,
// which is what the peer frame limit is derived from
// (conf.Config.PeerConfig): every write the front end accepts can be
// forwarded.
func TestForward_FitsARecordsFrame(t *testing.T) {
	const value, key = 1 << 10, 100
	vv := make(version.VV, version.MaxContextEntries)
	for i := range vv {
		vv[i] = version.Entry{Actor: version.Actor(i + 1), Counter: version.MaxCounter}
	}
	w := Write{Context: vv, Supersede: true, Op: OpAppend, Cond: CondAnyValue, W: 1 << 16, MaxSize: 1 << 62,
		Data: bytes.Repeat([]byte{'v'}, value)}
	req := encodeForward(bytes.Repeat([]byte{'k'}, key), w)
	limit := version.RecordOverhead + version.MaxSiblingOverhead + value + key + peer.MaxMessageOverhead
	require.LessOrEqual(t, len(req), limit)
	t.Logf("forward of %d bytes, frame of one record %d", len(req), limit)
}
