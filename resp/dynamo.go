package resp

import (
	"errors"

	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/version"
)

// The Dynamo commands expose a key's siblings and let clients resolve them:
//
//	DGET key [R n]               → [context, [value ...]]
//	DPUT key context value [W n] [DW n] → OK
//	DDEL key context [W n] [DW n]       → OK
//
// DW (Riak's) is how many of the replicas that acknowledge the write must
// have fsynced it first (0 to N; W is raised to it); without it the
// node's dw setting applies (0 by default: every acknowledging replica
// has at least the node's durability).
//
// The context is the join of every sibling's clock, signed by the server's
// version.ContextKey for the key (a client cannot forge or alter one),
// tombstones included, so that a DPUT with it supersedes everything the DGET
// saw. An empty context means "no prior read": the write supersedes nothing.

// cmdDGet replies with the context and every live sibling, in the siblings'
// (deterministic) order. A missing key has the empty context's encoding and
// no values.
func (s *Server) cmdDGet(c *session, args [][]byte) error {
	r, err := s.parseQuorum(args[2:], "R")
	if err != nil {
		return err
	}
	ss, err := s.backend.Get(c.ctx, args[1], coordinator.ReadOptions{R: int(r)})
	if err != nil {
		return s.quorumDetail(err, "R", r)
	}
	live := ss.Live()
	c.w.array(2)
	c.w.bulk(s.cfg.ContextKey.Encode(args[1], ss.Context()))
	c.w.array(len(live))
	for _, sb := range live {
		c.w.bulk(sb.Value)
	}
	return nil
}

// cmdDPut stores value as the successor of the versions in context.
func (s *Server) cmdDPut(c *session, args [][]byte) error {
	return s.dwrite(c, args[1], args[2], coordinator.Write{Op: coordinator.OpSet, Data: args[3]}, args[4:])
}

// cmdDDel writes a tombstone as the successor of the versions in context.
func (s *Server) cmdDDel(c *session, args [][]byte) error {
	return s.dwrite(c, args[1], args[2], coordinator.Write{Op: coordinator.OpDelete}, args[3:])
}

// dwrite performs a DPUT or DDEL: the write w with the decoded context and
// the W and DW options. Nothing is written unless the options and the
// context are valid.
func (s *Server) dwrite(c *session, key, context []byte, w coordinator.Write, opts [][]byte) error {
	var n, dw int64
	seen := map[string]bool{}
	for len(opts) > 0 {
		if len(opts) < 2 {
			return errSyntax
		}
		name := "W"
		if equalFold(opts[0], "DW") {
			name = "DW"
		}
		if seen[name] {
			return errSyntax
		}
		seen[name] = true
		var err error
		if name == "W" {
			n, err = s.parseQuorum(opts[:2], "W")
		} else {
			dw, err = s.parseDW(opts[1])
		}
		if err != nil {
			return err
		}
		opts = opts[2:]
	}
	var err error
	if w.Context, err = s.decodeContext(key, context); err != nil {
		return err
	}
	w.W = int(n)
	switch {
	case !seen["DW"]:
	case dw == 0:
		w.DW = coordinator.DWNone
	default:
		w.DW = int(dw)
	}
	if _, err = s.backend.Put(c.ctx, key, w); err != nil {
		if seen["DW"] && errors.Is(err, coordinator.ErrBadQuorum) && int(dw) > s.backend.Stats().N {
			return &quorumError{opt: "DW", n: dw, max: s.backend.Stats().N}
		}
		return s.quorumDetail(err, "W", n)
	}
	c.w.ok()
	return nil
}

// parseDW parses the number of a DW option: 0 (none) to N.
func (s *Server) parseDW(b []byte) (int64, error) {
	n, ok := parseInt(b)
	switch {
	case !ok:
		return 0, errNotInteger
	case n < 0 || n > int64(s.backend.Stats().N):
		return 0, &quorumError{opt: "DW", n: n, max: s.backend.Stats().N}
	}
	return n, nil
}

// parseQuorum parses the optional "R n" or "W n" after a Dynamo command's
// arguments; 0 means none was given. n must be at least 1 (the coordinator
// treats 0 as "the default", so an explicit 0 is refused here); the upper
// bound N is the coordinator's to check.
func (s *Server) parseQuorum(opts [][]byte, name string) (int64, error) {
	switch {
	case len(opts) == 0:
		return 0, nil
	case len(opts) != 2 || !equalFold(opts[0], name):
		return 0, errSyntax
	}
	n, ok := parseInt(opts[1])
	switch {
	case !ok:
		return 0, errNotInteger
	case n < 1 || n > 1<<31-1:
		return 0, &quorumError{opt: name, n: n, max: s.backend.Stats().N}
	}
	return n, nil
}

// quorumDetail adds the override and N to the coordinator's ErrBadQuorum.
func (s *Server) quorumDetail(err error, opt string, n int64) error {
	if errors.Is(err, coordinator.ErrBadQuorum) && n != 0 {
		return &quorumError{opt: opt, n: n, max: s.backend.Stats().N}
	}
	return err
}

// decodeContext checks a context a client brings back for key: signed
// under the cluster's key, or, during a rotation of the cluster secret,
// under the other secret's.
func (s *Server) decodeContext(key, context []byte) (version.VV, error) {
	v, err := s.cfg.ContextKey.Decode(key, context)
	if errors.Is(err, version.ErrStaleContext) && !s.cfg.AcceptedContextKey.IsZero() {
		return s.cfg.AcceptedContextKey.Decode(key, context)
	}
	return v, err
}
