package peer

import "context"

// Transport carries peer requests to other nodes. Implementations: the TCP
// transport and internal/memnet (in memory, with fault injection).
type Transport interface {
	// Call sends req to node and returns its response. It blocks until the
	// response arrives, ctx is done or the node is unreachable
	// (ErrUnreachable). The callee owns neither slice after Call returns.
	Call(ctx context.Context, node string, req []byte) ([]byte, error)
}

// Handler answers one peer request: the transports call it for every
// request that arrives, and a Mux is one. It returns the response bytes,
// or nil for no reply. It must not retain req after it returns, and never
// panics on any input.
type Handler func(ctx context.Context, req []byte) []byte
