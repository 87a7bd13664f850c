package bench

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"

	"github.com/tidwall/redcon"
)

// ServeRedcon serves the minimal redcon server on ln until ctx is done,
// then closes ln and every connection and returns. It is the Go front-end
// ceiling: redcon (the framework dynkv's RESP layer stands on) over a map
// guarded by a sync.RWMutex, with only what redis-benchmark -t set,get and
// the bench's own load need (PING, SET, GET, DEL, MSET, MGET, CONFIG GET).
// It returns nil once stopped by ctx. One goroutine serves each
// connection; redcon owns them and ends them when ln is closed.
func ServeRedcon(ctx context.Context, ln net.Listener) error {
	var s redconStore
	s.mu.m = map[string][]byte{}
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	err := redcon.Serve(ln, s.handle, nil, nil)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// redconStore is the minimal redcon server's data.
type redconStore struct {
	mu struct {
		sync.RWMutex
		m map[string][]byte // values owned here: copied out of redcon's read buffer
	}
}

// handle answers one command. redcon owns cmd.Args and promises nothing of
// them after the call: what is kept is copied.
func (s *redconStore) handle(c redcon.Conn, cmd redcon.Command) {
	args := cmd.Args
	switch name := strings.ToUpper(string(args[0])); {
	case name == "PING" && len(args) == 1:
		c.WriteString("PONG")
	case name == "SET" && len(args) == 3, name == "MSET" && len(args)%2 == 1 && len(args) > 1:
		s.mu.Lock()
		for i := 1; i+1 < len(args); i += 2 {
			s.mu.m[string(args[i])] = bytes.Clone(args[i+1])
		}
		s.mu.Unlock()
		c.WriteString("OK")
	case name == "GET" && len(args) == 2, name == "MGET" && len(args) > 1:
		if name == "MGET" {
			c.WriteArray(len(args) - 1)
		}
		s.mu.RLock()
		for _, k := range args[1:] {
			if v, ok := s.mu.m[string(k)]; ok {
				c.WriteBulk(v)
			} else {
				c.WriteNull()
			}
		}
		s.mu.RUnlock()
	case name == "DEL" && len(args) > 1:
		n := 0
		s.mu.Lock()
		for _, k := range args[1:] {
			if _, ok := s.mu.m[string(k)]; ok {
				delete(s.mu.m, string(k))
				n++
			}
		}
		s.mu.Unlock()
		c.WriteInt(n)
	case name == "CONFIG" && len(args) == 3 && strings.EqualFold(string(args[1]), "GET"):
		// redis-benchmark asks for save and appendonly at its start and
		// warns unless it gets a name and a value; redis-server answers
		// an unknown parameter with an empty array.
		switch p := strings.ToLower(string(args[2])); p {
		case "save", "appendonly":
			c.WriteArray(2)
			c.WriteBulkString(p)
			c.WriteBulkString(map[string]string{"save": "", "appendonly": "no"}[p])
		default:
			c.WriteArray(0)
		}
	default:
		c.WriteError("ERR unknown command or wrong number of arguments for '" + string(args[0]) + "'")
	}
}
