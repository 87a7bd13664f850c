package node

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dynkv/dynkv/peer"
	"github.com/dynkv/dynkv/resp"
)

// Pub/Sub across nodes: a message published on one node goes to every
// other member of the ring that is up (peer.OpPublish), which delivers it
// to its own subscribers (resp.Server.Deliver) before it answers, so that
// one connection's messages arrive in the order it published them. A node
// that is down or slow to answer misses the message: delivery is at most
// once, as Redis Cluster's.

// publishTimeout bounds how long PUBLISH waits for another node.
const publishTimeout = time.Second

// pubsubBus is resp.Bus over the peer transport.
type pubsubBus struct {
	view Membership
	tr   peer.Transport
}

var _ resp.Bus = pubsubBus{}

// Publish sends the message to every other member that is up, all at
// once, and returns the receivers they report.
func (b pubsubBus) Publish(ctx context.Context, shard bool, channel, message []byte) int64 {
	r := b.view.Ring()
	if r == nil {
		return 0
	}
	req := peer.EncodePublish(peer.Publish{Shard: shard, Channel: channel, Message: message})
	ctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	var total atomic.Int64
	var wg sync.WaitGroup
	self := b.view.Self()
	for _, id := range r.Members() {
		if id == self || !b.view.Alive(id) {
			continue
		}
		wg.Go(func() {
			reply, err := b.tr.Call(ctx, id, req)
			if err != nil {
				return
			}
			if n, err := peer.DecodePublished(reply); err == nil {
				total.Add(n)
			}
		})
	}
	wg.Wait()
	return total.Load()
}

// servePublish delivers a message published on another node to this
// node's subscribers.
func (n *Node) servePublish(_ context.Context, req []byte) []byte {
	p, err := peer.DecodePublish(req)
	if err != nil {
		return peer.EncodeResponse(peer.Response{Err: err})
	}
	srv := n.deliver.Load()
	if srv == nil {
		return peer.EncodePublished(0) // no client port (yet)
	}
	return peer.EncodePublished(srv.Deliver(p.Shard, p.Channel, p.Message))
}
