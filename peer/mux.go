package peer

import (
	"context"

	"github.com/dynkv/dynkv/merkle"
	"github.com/dynkv/dynkv/version"
)

// Store is what the peer protocol's store ops reach on the node that serves
// them: replica.Store implements it. Its methods follow replica.Store's
// contracts (blocking, ownership of the slices).
type Store interface {
	Get(ctx context.Context, key []byte) (version.Siblings, error)
	Merge(ctx context.Context, key []byte, ss version.Siblings) (version.Siblings, error)
	PutHint(ctx context.Context, node string, key []byte, ss version.Siblings) error
	GetHint(ctx context.Context, node string, key []byte) (version.Siblings, error)
	Collect(ctx context.Context, key []byte, ss version.Siblings) (version.Siblings, error)
	TreeNodes(ctx context.Context, lo, hi, span int, idx []int) ([]uint64, error)
	LeafKeys(ctx context.Context, leaves []int) ([]merkle.KeyHash, error)
	// Sync makes every write acknowledged so far survive a machine crash.
	Sync(ctx context.Context) error
}

// Mux routes each request to the handler of its op: the store's ops
// (OpGet … OpGetHint, anti-entropy's OpTree and OpLeafKeys among them) to a
// Store, forwarded writes (OpForward) to the coordinator. A request of an
// op nobody handles gets an ErrBadRequest response. Handlers are set before
// the Mux serves; Serve is then safe for concurrent use.
type Mux struct {
	handlers [256]Handler
}

// NewMux returns a Mux that serves the store ops against st (nil: none).
func NewMux(st Store) *Mux {
	m := &Mux{}
	if st != nil {
		h := storeHandler{st}.serve
		for _, op := range []Op{OpGet, OpMerge, OpHint, OpCollect, OpTree, OpLeafKeys, OpGetHint, OpMergeDurable, OpHintDurable} {
			m.handlers[op] = h
		}
	}
	return m
}

// Handle routes the requests of op to h. REQUIRES: the Mux is not serving
// yet.
func (m *Mux) Handle(op Op, h Handler) { m.handlers[op] = h }

// Serve answers one request: it is the Handler the transports call. It
// never panics on any input.
func (m *Mux) Serve(ctx context.Context, req []byte) []byte {
	if len(req) >= 2 && req[0] == Format {
		if h := m.handlers[req[1]]; h != nil {
			return h(ctx, req)
		}
	}
	return EncodeResponse(Response{Err: ErrBadRequest})
}

// storeHandler answers the store ops against a Store.
type storeHandler struct{ s Store }

// serve answers one store request. A request that does not decode gets an
// ErrBadRequest response and changes nothing.
func (h storeHandler) serve(ctx context.Context, req []byte) []byte {
	r, err := DecodeRequest(req)
	if err != nil {
		return EncodeResponse(Response{Err: err})
	}
	s := h.s
	var ss version.Siblings
	switch r.Op {
	case OpGetHint:
		ss, err = s.GetHint(ctx, r.Hint, r.Key)
	case OpCollect:
		ss, err = s.Collect(ctx, r.Key, r.Siblings)
	case OpTree:
		var hs []uint64
		if hs, err = s.TreeNodes(ctx, r.Lo, r.Hi, r.Span, r.Nodes); err == nil {
			return EncodeResponse(Response{Hashes: append(make([]uint64, 0, len(hs)), hs...)})
		}
	case OpLeafKeys:
		var ks []merkle.KeyHash
		if ks, err = s.LeafKeys(ctx, r.Nodes); err == nil {
			return EncodeResponse(Response{Keys: append(make([]merkle.KeyHash, 0, len(ks)), ks...)})
		}
	case OpGet:
		ss, err = s.Get(ctx, r.Key)
		if err == nil && r.Hint != "" {
			var hs version.Siblings
			if hs, err = s.GetHint(ctx, r.Hint, r.Key); err == nil {
				ss = version.Sync(ss, hs)
			}
		}
	case OpMerge:
		_, err = s.Merge(ctx, r.Key, r.Siblings)
		ss = nil
	case OpHint:
		err = s.PutHint(ctx, r.Hint, r.Key, r.Siblings)
	}
	if err == nil && r.Durable {
		err = s.Sync(ctx)
	}
	if err != nil {
		return EncodeResponse(Response{Err: err})
	}
	return EncodeResponse(Response{Siblings: ss})
}
