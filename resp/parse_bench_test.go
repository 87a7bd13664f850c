package resp

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkParse measures reading a pipeline of 16 SET commands (100-byte
// values) through the guard and the reader, as a connection does. One op
// is one pipeline, with a new reader (its buffer counts in the allocations).
func BenchmarkParse(b *testing.B) {
	var in []byte
	for i := range 16 {
		in = append(in, multibulk("SET", "key:"+strconv.Itoa(i), strings.Repeat("v", 100))...)
	}
	limits := guardLimits{maxBulk: 64 << 20, maxRequest: 512 << 20}
	br := bytes.NewReader(in)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		br.Reset(in)
		rd := newReader(newGuard(br, limits, yes), nil)
		n := 0
		for {
			cmds, err := rd.ReadCommands()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n += len(cmds)
		}
		if n != 16 {
			b.Fatalf("parsed %d commands", n)
		}
	}
}

// BenchmarkReply measures encoding the replies of a GET (a 100-byte bulk),
// a SET (OK) and a DGET of three siblings, into the connection's buffer.
func BenchmarkReply(b *testing.B) {
	value := bytes.Repeat([]byte("v"), 100)
	ctx := bytes.Repeat([]byte("c"), 40)
	w := newWriter(io.Discard)
	b.ReportAllocs()
	for b.Loop() {
		w.truncate(0)
		w.bulk(value)
		w.ok()
		w.array(2)
		w.bulk(ctx)
		w.array(3)
		for range 3 {
			w.bulk(value)
		}
	}
}
