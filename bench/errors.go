package bench

import "errors"

// ErrProtocol reports a reply that is not well-formed RESP2, or one larger
// than the reader's bounds.
var ErrProtocol = errors.New("bench: protocol error")

// ErrFailed reports a run in which the load generator counted errors: error
// replies, broken connections or timeouts. Its figures are written but must
// not be taken as a result.
var ErrFailed = errors.New("bench: requests failed")

// ErrNoTool reports a program the bench needs that is not installed.
var ErrNoTool = errors.New("bench: tool not installed")
