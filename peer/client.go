package peer

import (
	"context"
	"fmt"

	"github.com/dynkv/dynkv/merkle"
	"github.com/dynkv/dynkv/version"
)

// Client is another node's store, reached through a Transport. It is safe
// for concurrent use.
type Client struct {
	tr   Transport
	node string
}

// NewClient returns the store of node, reached through tr.
func NewClient(tr Transport, node string) *Client { return &Client{tr: tr, node: node} }

// Node returns the node the client talks to.
func (c *Client) Node() string { return c.node }

// Get returns the node's siblings of key. With hintFor set, the node also
// includes what it holds as hints for that node.
func (c *Client) Get(ctx context.Context, key []byte, hintFor string) (version.Siblings, error) {
	r, err := c.call(ctx, Request{Op: OpGet, Key: key, Hint: hintFor})
	return r.Siblings, err
}

// Merge syncs ss into the node's siblings of key.
func (c *Client) Merge(ctx context.Context, key []byte, ss version.Siblings) error {
	_, err := c.call(ctx, Request{Op: OpMerge, Key: key, Siblings: ss})
	return err
}

// MergeDurable is Merge acknowledged only once the node has fsynced it
// (DW).
func (c *Client) MergeDurable(ctx context.Context, key []byte, ss version.Siblings) error {
	_, err := c.call(ctx, Request{Op: OpMerge, Key: key, Siblings: ss, Durable: true})
	return err
}

// PutHintDurable is PutHint acknowledged only once fsynced (DW).
func (c *Client) PutHintDurable(ctx context.Context, hintFor string, key []byte, ss version.Siblings) error {
	_, err := c.call(ctx, Request{Op: OpHint, Key: key, Hint: hintFor, Siblings: ss, Durable: true})
	return err
}

// PutHint asks the node to hold ss for node hintFor.
func (c *Client) PutHint(ctx context.Context, hintFor string, key []byte, ss version.Siblings) error {
	_, err := c.call(ctx, Request{Op: OpHint, Key: key, Hint: hintFor, Siblings: ss})
	return err
}

// GetHint returns only what the node holds as a hint for node hintFor.
func (c *Client) GetHint(ctx context.Context, hintFor string, key []byte) (version.Siblings, error) {
	r, err := c.call(ctx, Request{Op: OpGetHint, Key: key, Hint: hintFor})
	return r.Siblings, err
}

// Collect asks the node to delete key if it holds exactly the tombstones
// ss (see Store.Collect). It returns what the key holds afterwards: nothing
// if it was collected.
func (c *Client) Collect(ctx context.Context, key []byte, ss version.Siblings) (version.Siblings, error) {
	r, err := c.call(ctx, Request{Op: OpCollect, Key: key, Siblings: ss})
	return r.Siblings, err
}

// TreeNodes returns the node's hashes of the tree nodes idx of span span
// over the leaves [lo, hi) (see Store.TreeNodes).
func (c *Client) TreeNodes(ctx context.Context, lo, hi, span int, idx []int) ([]uint64, error) {
	r, err := c.call(ctx, Request{Op: OpTree, Lo: lo, Hi: hi, Span: span, Nodes: idx})
	if err == nil && len(r.Hashes) != len(idx) {
		return nil, fmt.Errorf("peer: %s: tree reply of %d hashes for %d nodes", c.node, len(r.Hashes), len(idx))
	}
	return r.Hashes, err
}

// LeafKeys returns the node's keys of leaves with their version hashes
// (see Store.LeafKeys).
func (c *Client) LeafKeys(ctx context.Context, leaves []int) ([]merkle.KeyHash, error) {
	r, err := c.call(ctx, Request{Op: OpLeafKeys, Nodes: leaves})
	return r.Keys, err
}

// Scan returns the node's keys from position from to the end of slot last,
// at least limit of them when there are that many, with their versions
// and without values (see OpScan).
func (c *Client) Scan(ctx context.Context, from uint64, last, limit int) (*ScanResult, error) {
	r, err := c.call(ctx, Request{Op: OpScan, From: from, Last: last, Limit: limit})
	if err == nil && r.Scan == nil {
		return nil, fmt.Errorf("peer: %s: scan reply without keys", c.node)
	}
	return r.Scan, err
}

func (c *Client) call(ctx context.Context, req Request) (Response, error) {
	b, err := c.tr.Call(ctx, c.node, EncodeRequest(req))
	if err != nil {
		return Response{}, err
	}
	resp, err := DecodeResponse(b)
	if err != nil {
		return Response{}, err
	}
	if resp.Err != nil {
		return Response{}, fmt.Errorf("peer: %s: %w", c.node, resp.Err)
	}
	return resp, nil
}
