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
	} {
		key, got, err := decodeForward(encodeForward([]byte("k"), w))
		if err != nil || string(key) != "k" || got.Supersede != w.Supersede || got.Op != w.Op || got.Cond != w.Cond ||
			got.W != w.W || got.MaxSize != w.MaxSize || !bytes.Equal(got.Data, w.Data) || got.Context.Compare(w.Context) != Equal ||
			got.Timestamp != w.Timestamp {
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
	f.Add([]byte{1, 16})
	f.Add([]byte{1, 16, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		key, w, err := decodeForward(b)
		if err != nil {
			return
		}
		key2, w2, err := decodeForward(encodeForward(key, w))
		if err != nil || !bytes.Equal(key, key2) || w.Op != w2.Op || w.Cond != w2.Cond || w.W != w2.W ||
			w.Supersede != w2.Supersede || w.MaxSize != w2.MaxSize || !bytes.Equal(w.Data, w2.Data) || w.Context.Compare(w2.Context) != Equal ||
			w.Timestamp != w2.Timestamp {
			t.Fatalf("re-encode differs: %+v vs %+v (%v)", w, w2, err)
		}
		_, _ = decodeForwardResult(b)
	})
}
