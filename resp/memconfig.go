package resp

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The CONFIG parameters of client memory: client-output-buffer-limit and
// maxmemory-clients, with Redis's syntax. They change at run time.

// outputLimitParam is client-output-buffer-limit. dynkv has only normal
// clients: CONFIG GET reports that class; CONFIG SET accepts the replica
// and pubsub classes too (clients set every class at once) and ignores
// them.
func outputLimitParam() configParam {
	return configParam{
		name: "client-output-buffer-limit",
		get: func(s *Server) string {
			return fmt.Sprintf("normal %d %d %d", s.mem.outHard.Load(), s.mem.outSoft.Load(), s.mem.outSoftTime.Load()/int64(time.Second))
		},
		set: setOutputLimit,
	}
}

func maxMemoryClientsParam() configParam {
	return configParam{
		name: "maxmemory-clients",
		get:  func(s *Server) string { return strconv.FormatInt(s.mem.maxClients.Load(), 10) },
		set: func(s *Server, v []byte) (func(), string) {
			if strings.HasSuffix(string(v), "%") {
				return nil, "a percentage of maxmemory needs maxmemory, which dynkv does not have: give bytes"
			}
			n, ok := parseMemory(string(v))
			if !ok {
				return nil, "argument must be a memory value"
			}
			if min := s.cfg.MaxValueSize + outputSlack; n != 0 && n < min {
				return nil, fmt.Sprintf("must be 0 (none) or at least max-value-size + 64kb (%d)", min)
			}
			return func() {
				s.mem.maxClients.Store(n)
				if n > 0 && s.mem.total.Load() > n {
					s.evictClients(n) // as Redis, at once rather than at the next allocation
				}
			}, ""
		},
	}
}

// setOutputLimit parses "class hard soft seconds ...".
func setOutputLimit(s *Server, v []byte) (func(), string) {
	f := strings.Fields(string(v))
	if len(f) == 0 || len(f)%4 != 0 {
		return nil, "Wrong number of arguments in buffer limit configuration."
	}
	var apply func()
	for i := 0; i < len(f); i += 4 {
		class := strings.ToLower(f[i])
		hard, ok1 := parseMemory(f[i+1])
		soft, ok2 := parseMemory(f[i+2])
		secs, err := strconv.ParseInt(f[i+3], 10, 64)
		switch {
		case class != "normal" && class != "replica" && class != "slave" && class != "pubsub":
			return nil, "Invalid client class specified in buffer limit configuration."
		case !ok1 || !ok2 || err != nil || secs < 0 || secs > math.MaxInt64/int64(time.Second):
			return nil, "Error in hard, soft or soft_seconds setting in buffer limit configuration."
		case class != "normal":
			continue // dynkv has no such clients
		}
		if min := s.cfg.MaxValueSize + outputSlack; hard != 0 && hard < min {
			return nil, fmt.Sprintf("hard limit must be 0 (none) or at least max-value-size + 64kb (%d)", min)
		}
		apply = func() {
			s.mem.outHard.Store(hard)
			s.mem.outSoft.Store(soft)
			s.mem.outSoftTime.Store(secs * int64(time.Second))
		}
	}
	if apply == nil {
		apply = func() {}
	}
	return apply, ""
}

// parseMemory parses a Redis memory value: bytes, or a number with a unit,
// k, m or g (powers of 1000) or kb, mb or gb (powers of 1024), in any case.
func parseMemory(v string) (int64, bool) {
	t := strings.ToLower(v)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"k", 1e3}, {"m", 1e6}, {"g", 1e9}, {"b", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSuffix(t, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, false
	}
	return n * mult, true
}
