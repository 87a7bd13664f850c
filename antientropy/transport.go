package antientropy

import (
	"context"
	"sync/atomic"

	"github.com/dynkv/dynkv/peer"
)

// counting is a Transport that counts the bytes of the calls it carries.
type counting struct {
	tr       peer.Transport
	sent     atomic.Int64
	received atomic.Int64
}

// Call implements peer.Transport.
func (c *counting) Call(ctx context.Context, node string, req []byte) ([]byte, error) {
	c.sent.Add(int64(len(req)))
	resp, err := c.tr.Call(ctx, node, req)
	c.received.Add(int64(len(resp)))
	return resp, err
}
