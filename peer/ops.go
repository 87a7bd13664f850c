package peer

// The one table of the peer protocol's ops.

// Format is the first byte of every request and response of the peer
// protocol (the store's ops and forwarded writes alike): it tells a message
// from garbage. The version of the messages, the ops and the error codes is
// ProtocolVersion, which the handshake checks once per connection; a
// change to any of them bumps it.
const Format byte = 1

// Op is a peer request type.
type Op byte

const (
	// OpGet reads a key's siblings. With Hint set, the reply also includes
	// what the node holds as hints for that node (a fallback read).
	OpGet Op = 1
	// OpMerge syncs the request's siblings into the key's and acknowledges
	// once durable.
	OpMerge Op = 2
	// OpHint stores the siblings as a hint for node Hint, to be handed to it
	// when it is healthy again.
	OpHint Op = 3
	// OpCollect deletes the key if it holds exactly the siblings of the
	// request, all tombstones (tombstone collection); the reply holds what
	// the key holds afterwards.
	OpCollect Op = 4
	// OpTree returns the hashes of the tree nodes Nodes of span Span over
	// the leaves [Lo, Hi) (see Store.TreeNodes).
	OpTree Op = 5
	// OpLeafKeys returns the keys of the leaves Nodes with their version
	// hashes (see Store.LeafKeys).
	OpLeafKeys Op = 6
	// OpGetHint returns only what the node holds as a hint for node Hint.
	OpGetHint Op = 7
	// OpScan returns the keys of a range of the key space with their
	// versions, without values: from Position From (a replica.Position)
	// to the end of slot Last, at least Limit keys when there are that
	// many (see replica.Store.KeysFrom). It walks the cluster's keys for
	// SCAN, KEYS, DBSIZE, RANDOMKEY and FLUSHALL; coordinator.ServeScan
	// answers it.
	OpScan Op = 8
	// OpMergeDurable is OpMerge acknowledged only once the node has
	// fsynced it (replica.Store.Sync): a write with DW. Request.Durable
	// stands for it, with Op OpMerge.
	OpMergeDurable Op = 9
	// OpHintDurable is OpHint acknowledged only once fsynced.
	OpHintDurable Op = 10

	// OpForward is a write forwarded to a key's home node to coordinate
	// (coordinator/forward.go encodes it).
	OpForward Op = 16
	// OpPublish is a Pub/Sub message published on another node, for this
	// node's subscribers (publish.go encodes it).
	OpPublish Op = 17
)

// OpOf returns the op of a request: its second byte, or 0 for a request too
// short to have one.
func OpOf(req []byte) Op {
	if len(req) < 2 || req[0] != Format {
		return 0
	}
	return Op(req[1])
}
