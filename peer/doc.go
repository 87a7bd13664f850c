// Package peer carries requests between the nodes of a dynkv cluster.
//
//   - Transport (transport.go) is what callers use: Call sends a request to a
//     node by id and returns its response. TCP (tcp.go, conn.go) is the
//     production one, one long-lived connection per peer on which
//     concurrent calls are multiplexed by request id (frame.go) and
//     coalesced into few write syscalls; internal/memnet is the in-memory
//     one tests inject faults into.
//   - The handshake (handshake.go) opens every connection: both ends prove
//     they hold the cluster secret, and a peer that does not speak this
//     protocol (ProtocolVersion) is refused before any frame. Every frame
//     after it is sealed (seal.go): AES-256-GCM with a key per connection
//     and direction derived from the secret and the handshake's nonces.
//   - Limits (budget.go): a node holds the frames being received on all
//     its peer connections within one receive budget (Config.ReceiveBuffer),
//     reserved per frame before its body is read and grown into as the
//     bytes arrive, each frame's body within Config.FrameTimeout; it
//     accepts at most Config.MaxHandshakes connections in the handshake
//     (each at most DialTimeout) and Config.MaxConns past it. The logs a
//     stranger or a peer can trigger are rate-limited.
//   - Messages (message.go) start with Format and the op (ops.go, the one
//     table of ops); errors travel as codes (codes.go, the one table of
//     error codes), turned back into the same sentinels on the calling
//     side, so errors.Is holds across nodes.
//   - Client (client.go) is another node's store, reached through a
//     Transport: what the coordinator and anti-entropy call.
//   - Mux (mux.go) is the serving side: it routes each request by op, the
//     store ops to a Store (the node's replica.Store) and forwarded writes
//     (OpForward) to the handler the node sets (the coordinator).
//
// It imports only dynkv's leaf packages (version, merkle, errdefs,
// internal/codec): the store and the coordinator are reached through Store
// and Handler.
//
// Concurrency: TCP, Client and a serving Mux are safe for concurrent use.
package peer
