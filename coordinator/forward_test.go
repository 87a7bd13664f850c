package coordinator

import (
	"bytes"
	"errors"
	"testing"

	"github.com/dynkv/dynkv/version"
)

func TestForwardCodec_RoundTrip(t *testing.T) {
	for _, w := range []Write{
		{Context: version.VV{{Actor: 7, Counter: 3}}, Supersede: true, Op: OpAppend, Cond: CondPresent, W: 3, MaxSize: 99, Data: []byte("xyz")},
		{Context: version.VV{{Actor: 7, Counter: 3}}, Op: OpDelete, Timestamp: 1_700_000_000_000_000_000},
		{Op: OpDelete, Timestamp: -5},
		{Supersede: true, Op: OpSet, Expiry: 1_767_323_045_006, KeepTTL: true, Data: []byte("session")},
		{Supersede: true, Op: OpExpire, Cond: CondEarlierExpiry, Expiry: 1},
		{Supersede: true, Op: OpSet, W: 2, DW: 2, Data: []byte("durable")},
		{Op: OpDelete, DW: DWNone},
	} {
		key, got, err := decodeForward(encodeForward([]byte("k"), w))
		if err != nil || string(key) != "k" || !sameForward(w, got) {
			t.Fatalf("round trip: %+v, %v", got, err)
		}
	}
	for _, e := range []error{nil, ErrCondition, &QuorumError{Op: "write", Need: 2, Got: 1}, ErrBadQuorum, errors.New("other")} {
		_, err := decodeForwardResult(encodeForwardResult(nil, e))
		switch {
		case e == nil && err != nil:
			t.Fatalf("ok result decoded as %v", err)
		case e != nil && err == nil:
			t.Fatalf("%v decoded as success", e)
		}
	}
}

// Equal re-exported for the test above.
const Equal = version.Equal

func FuzzDecodeForward(f *testing.F) {
	f.Add(encodeForward([]byte("key"), Write{Op: OpSet, Data: []byte("v")}))
	f.Add(encodeForward(nil, Write{Context: version.VV{{Actor: 1, Counter: 1}}, Op: OpDelete, Cond: CondAbsent, W: 2}))
	f.Add(encodeForward([]byte("key"), Write{Op: OpSetRange, Data: RangeData(3, []byte("v")), MaxSize: 10}))
	f.Add(encodeForward([]byte("key"), Write{Op: OpSetBit, Data: BitData(77, 1)}))
	f.Add(encodeForward([]byte("key"), Write{Op: OpDelete, Context: version.VV{{Actor: 1, Counter: 1}}, Timestamp: 12345}))
	f.Add(encodeForward([]byte("k"), Write{Op: OpExpire, Cond: CondLaterExpiry, Expiry: 1 << 62, KeepTTL: true}))
	f.Add(encodeForward([]byte("k"), Write{Op: OpSet, W: 3, DW: 3, Data: []byte("v")}))
	f.Add(encodeForward([]byte("k"), Write{Op: OpSet, DW: DWNone}))
	f.Add([]byte{1, 16})
	f.Add([]byte{1, 16, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		key, w, err := decodeForward(b)
		if err != nil {
			return
		}
		key2, w2, err := decodeForward(encodeForward(key, w))
		if err != nil || !bytes.Equal(key, key2) || !sameForward(w, w2) {
			t.Fatalf("re-encode differs: %+v vs %+v (%v)", w, w2, err)
		}
		_, _ = decodeForwardResult(b)
	})
}

// sameForward reports whether two writes agree on every field forwarding
// carries.
func sameForward(a, b Write) bool {
	return a.Op == b.Op && a.Cond == b.Cond && a.W == b.W && a.DW == b.DW && a.Supersede == b.Supersede && a.KeepTTL == b.KeepTTL && a.Timestamp == b.Timestamp &&
		a.MaxSize == b.MaxSize && a.Expiry == b.Expiry && bytes.Equal(a.Data, b.Data) && a.Context.Compare(b.Context) == Equal
}
