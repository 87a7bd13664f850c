package resp

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/errdefs"
	"github.com/dynkv/dynkv/version"
)

// ErrClosed is returned by Serve and ListenAndServe once Close has been
// called, and by every call of Close after the first.
var ErrClosed = errors.New("resp: server closed")

// replyErr is an error whose text is sent to the client as it is: the RESP
// error line without its leading '-'. It starts with a Redis error code.
type replyErr string

func (e replyErr) Error() string { return string(e) }

// Fixed error replies, worded as Redis 7 words them where Redis has the error.
const (
	errSyntax           replyErr = "ERR syntax error"
	errNotInteger       replyErr = "ERR value is not an integer or out of range"
	errIntRange         replyErr = "ERR value is out of range, value must between -2147483648 and 2147483647"
	errNoAuth           replyErr = "NOAUTH Authentication required."
	errWrongPass        replyErr = "WRONGPASS invalid username-password pair or user is disabled."
	errNoPassConfigured replyErr = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
	errHelloNoAuth      replyErr = "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"
	errHelloVersion     replyErr = "ERR Protocol version is not an integer or out of range"
	errNoProto          replyErr = "NOPROTO unsupported protocol version"
	errDBIndex          replyErr = "ERR DB index is out of range"
	errInvalidContext   replyErr = "ERR invalid context"
	errStaleContext     replyErr = "ERR stale context: it was issued under another cluster secret; read the key again with DGET"
	errInternal         replyErr = "ERR internal error"
	errMaxClients       replyErr = "ERR max number of clients reached"
	errStringTooLong    replyErr = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
	errClientName       replyErr = "ERR Client names cannot contain spaces, newlines or special characters."
	errClosing          replyErr = "ERR server is shutting down"
	errTimeout          replyErr = "TRYAGAIN the operation timed out, retry"
	errCorrupt          replyErr = "ERR corrupt record: the key's stored versions failed to verify"
	errNoCluster        replyErr = "ERR this node is not in a cluster (start it with cluster settings)"
	errNoAntiEntropy    replyErr = "ERR anti-entropy is off on this node"
	errWeight           replyErr = "ERR weight must be an integer between 1 and 1048576"
	errDiskFull         replyErr = "ERR disk full: write refused"
	errDiskIO           replyErr = "ERR disk i/o error: write refused"
	// errDenied is Redis 7.0's reply to a client refused by protected
	// mode, word for word: it names Redis's own remedies, which dynkv
	// accepts too (CONFIG SET protected-mode no, --protected-mode no).
	errDenied replyErr = "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside."
)

// keyTooLargeError refuses a key of n bytes over the limit max.
func keyTooLargeError(n int, max int64) error {
	return replyErr(fmt.Sprintf("ERR key too large: %d bytes, keys may be at most %d bytes (max-key-size)", n, max))
}

// arityError is Redis's reply to a command with the wrong number of
// arguments; name is the command's full lowercase name ("get",
// "client|setname").
func arityError(name string) error {
	return replyErr("ERR wrong number of arguments for '" + name + "' command")
}

// unknownCommandError is Redis 7's reply to a command not in the table: the
// name and the first arguments, quoted, each cut to what fits in 128 bytes.
func unknownCommandError(args [][]byte) error {
	var b strings.Builder
	for _, a := range args[1:] {
		if b.Len() >= 128 {
			break
		}
		room := 128 - b.Len()
		b.WriteByte('\'')
		b.Write(clip(a, room))
		b.WriteString("' ")
	}
	return replyErr(fmt.Sprintf("ERR unknown command '%s', with args beginning with: %s", clip(args[0], 128), b.String()))
}

// unknownSubcommandError is Redis's reply to "CLIENT FOO".
func unknownSubcommandError(sub []byte, container string) error {
	return replyErr(fmt.Sprintf("ERR unknown subcommand '%s'. Try %s HELP.", clip(sub, 128), strings.ToUpper(container)))
}

// expireError is Redis's reply to a TTL that is not positive.
func expireError(cmd string) error {
	return replyErr("ERR invalid expire time in '" + cmd + "' command")
}

// configSetError is Redis's reply to a CONFIG SET that failed on name.
func configSetError(name, reason string) error {
	return replyErr(fmt.Sprintf("ERR CONFIG SET failed (possibly related to argument '%s') - %s", name, reason))
}

func clip(b []byte, n int) []byte { return b[:min(len(b), n)] }

// protocolError is a framing error found by the guard or by redcon's reader.
// The connection is closed after its reply.
type protocolError struct {
	msg string // after "Protocol error: "
}

func (e *protocolError) Error() string { return "Protocol error: " + e.msg }

// changeError is a membership change the Cluster refused: a leave of a
// non-member or of the last member, a join of a node already in a ring, no
// seed reachable. Its reason is the reply.
type changeError struct{ err error }

func (e *changeError) Error() string { return e.err.Error() }
func (e *changeError) Unwrap() error { return e.err }

// quorumError reports an R or W override outside 1..N, or a DW outside
// 0..N.
type quorumError struct {
	opt string // "R", "W" or "DW"
	n   int64  // the override given
	max int    // N, or 0 if unknown
}

func (e *quorumError) Error() string {
	return fmt.Sprintf("resp: %s %d out of range %d..%d", e.opt, e.n, e.low(), e.max)
}

// low is the smallest value the option takes.
func (e *quorumError) low() int {
	if e.opt == "DW" {
		return 0
	}
	return 1
}

// Is reports whether target is coordinator.ErrBadQuorum.
func (e *quorumError) Is(target error) bool { return target == coordinator.ErrBadQuorum }

// replyError returns the RESP error line (without the leading '-') that
// reports err to a client. It is the only place where internal errors are
// turned into error replies. Errors it does not recognise become "ERR
// internal error" and are logged; their text never reaches the client.
// Carriage returns and newlines are replaced by spaces, as Redis does, so
// the reply is always one line.
func (s *Server) replyError(err error) string {
	var (
		re replyErr
		pe *protocolError
		qe *quorumError
		ce *changeError
		cq *coordinator.QuorumError
	)
	var msg string
	switch {
	case errors.As(err, &re):
		msg = string(re)
	case errors.As(err, &pe):
		msg = "ERR " + pe.Error()
	case errors.As(err, &ce):
		// One line, white space folded: memberlist's join errors are lists.
		msg = "ERR " + strings.Join(strings.Fields(strings.TrimPrefix(ce.err.Error(), "ring: ")), " ")
	case errors.As(err, &qe):
		msg = fmt.Sprintf("ERR %s must be between %d and N (%d), got %d", qe.opt, qe.low(), qe.max, qe.n)
		if qe.max == 0 {
			msg = fmt.Sprintf("ERR %s must be between %d and N, got %d", qe.opt, qe.low(), qe.n)
		}
	case errors.Is(err, coordinator.ErrTooLarge):
		msg = string(errStringTooLong)
	case errors.Is(err, coordinator.ErrBadQuorum):
		msg = "ERR quorum override out of range: R and W must be between 1 and N"
	case errors.As(err, &cq):
		msg = fmt.Sprintf("NOREPLICAS not enough replicas answered the %s: needed %d, got %d", cq.Op, cq.Need, cq.Got)
	case errors.Is(err, coordinator.ErrForwardUnknown):
		msg = "NOREPLICAS the home node coordinating this write did not answer: it may or may not have been applied"
	case errors.Is(err, coordinator.ErrQuorum):
		msg = "NOREPLICAS not enough replicas answered"
	case errors.Is(err, version.ErrInvalidContext):
		msg = string(errInvalidContext)
	case errors.Is(err, version.ErrStaleContext):
		msg = string(errStaleContext)
	case errors.Is(err, version.ErrTooManyVersions):
		msg = "ERR too many versions: the key's siblings would exceed their limits (max-siblings-size, or the version vectors'); read them with DGET and write with that context to resolve them"
	case errors.Is(err, errdefs.ErrNotDurable):
		msg = "ERR DW cannot be met: a replica's storage is memory, which keeps no data on disk"
	case errors.Is(err, errdefs.ErrDiskFull):
		msg = string(errDiskFull)
	case errors.Is(err, errdefs.ErrDiskIO):
		msg = string(errDiskIO)
	case errors.Is(err, version.ErrCorruptRecord):
		s.log.Error("corrupt record", "err", err)
		msg = string(errCorrupt)
	case errors.Is(err, errdefs.ErrStoreClosed), errors.Is(err, errdefs.ErrTransportClosed), errors.Is(err, context.Canceled):
		msg = string(errClosing)
	case errors.Is(err, context.DeadlineExceeded):
		msg = string(errTimeout)
	default:
		s.log.Error("internal error", "err", err)
		msg = string(errInternal)
	}
	if strings.ContainsAny(msg, "\r\n") {
		msg = strings.NewReplacer("\r", " ", "\n", " ").Replace(msg)
	}
	return msg
}
