package resp_test

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/dynkv/dynkv/resp"
	"github.com/dynkv/dynkv/resp/resptest"
)

// BenchmarkPipelinedSetGet measures SET and GET round trips through RESP
// over loopback, against a real coordinator and store (pebble in memory),
// with pipelines of depth SET+GET pairs, at pipeline windows 1 (the
// default: one command after another) and 32. One op is one SET and one
// GET; allocations include the server's.
func BenchmarkPipelinedSetGet(b *testing.B) {
	for _, window := range []int{1, 32} {
		b.Run("window="+strconv.Itoa(window), func(b *testing.B) { benchmarkPipelinedSetGet(b, window) })
	}
}

func benchmarkPipelinedSetGet(b *testing.B, window int) {
	value := strings.Repeat("v", 64)
	cfg := resp.DefaultConfig()
	cfg.PipelineWindow = window
	for _, depth := range []int{1, 16, 128} {
		b.Run("depth="+strconv.Itoa(depth), func(b *testing.B) {
			srv := resptest.Start(b, cfg)
			nc, err := net.Dial("tcp", srv.Addr)
			if err != nil {
				b.Fatal(err)
			}
			defer nc.Close()
			var batch []byte
			for i := range depth {
				key := "key:" + strconv.Itoa(i)
				batch = append(batch, resptest.Command("SET", key, value)...)
				batch = append(batch, resptest.Command("GET", key)...)
			}
			r := bufio.NewReaderSize(nc, 64<<10)
			b.ReportAllocs()
			b.SetBytes(int64(len(batch) / depth))
			b.ResetTimer()
			for n := 0; n < b.N; n += depth {
				if _, err := nc.Write(batch); err != nil {
					b.Fatal(err)
				}
				for range 2 * depth {
					if err := skipReply(r); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// skipReply reads one status, error, integer or bulk reply without
// allocating.
func skipReply(r *bufio.Reader) error {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return err
	}
	if line[0] == '-' {
		return &net.AddrError{Err: string(line)}
	}
	if line[0] != '$' {
		return nil
	}
	n, err := strconv.Atoi(string(line[1 : len(line)-2]))
	if err != nil || n < 0 {
		return err
	}
	_, err = r.Discard(n + 2)
	return err
}
