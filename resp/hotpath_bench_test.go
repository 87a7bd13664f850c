package resp

import (
	"fmt"
	"testing"
)

// BenchmarkExec_SetGet runs SET and GET of 100-byte values over 1,000 keys
// through the RESP layer (command lookup, coordinator, store on an
// in-memory pebble with durability none, reply encoding), without
// sockets: the allocations of the request path (see alloc_test.go).
func BenchmarkExec_SetGet(b *testing.B) {
	for _, cmd := range []string{"SET", "GET"} {
		b.Run(cmd, func(b *testing.B) {
			tc := newDefaultEnv(b).client()
			keys := make([][]byte, 1000)
			value := make([]byte, 100)
			for i := range keys {
				keys[i] = fmt.Appendf(nil, "key:%06d", i)
				tc.doBytes([][]byte{[]byte("SET"), keys[i], value})
			}
			args := [][]byte{[]byte(cmd), nil, value}
			if cmd == "GET" {
				args = args[:2]
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				args[1] = keys[i%len(keys)]
				i++
				tc.s.exec(tc.c, args)
				tc.c.w.truncate(0)
			}
		})
	}
}
