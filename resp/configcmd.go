package resp

import (
	"fmt"
	"math"
	"net"
	"path"
	"strconv"
	"strings"
	"time"
)

// configParam is one parameter CONFIG GET reports.
type configParam struct {
	name string
	get  func(s *Server) string
	// set validates and applies a new value at run time, returning the
	// reason for refusing it; nil means the parameter is immutable.
	set func(s *Server, v []byte) (apply func(), reason string)
}

// configParams lists what CONFIG GET reports: the parameters redis-benchmark,
// redis-cli and client libraries ask about, with dynkv's values.
func configParams() []configParam {
	fixed := func(v string) func(*Server) string { return func(*Server) string { return v } }
	return []configParam{
		{name: "bind", get: func(s *Server) string { h, _, _ := net.SplitHostPort(s.cfg.Listen); return h }},
		{name: "port", get: (*Server).port},
		{name: "requirepass", get: func(s *Server) string { return s.cfg.RequirePass }},
		{name: "maxclients", get: func(s *Server) string { return strconv.FormatInt(s.maxClients.Load(), 10) }, set: setMaxClients},
		{name: "proto-max-bulk-len", get: func(s *Server) string { return strconv.FormatInt(s.cfg.MaxValueSize, 10) }},
		{name: "client-query-buffer-limit", get: func(s *Server) string { return strconv.FormatInt(s.cfg.MaxRequestSize, 10) }},
		{name: "databases", get: fixed("1")},
		{name: "maxmemory", get: fixed("0")},
		{name: "maxmemory-policy", get: fixed("noeviction")},
		{name: "timeout", get: func(s *Server) string { return strconv.FormatInt(ceilSeconds(s.idleTimeout()), 10) }, set: setTimeout},
		{name: "save", get: fixed("")},
		// Every write goes to pebble's write-ahead log first: an append-only
		// file in all but name (durability says when it is synced). With
		// storage memory there is none.
		{name: "appendonly", get: func(s *Server) string { return yesNo(!s.cfg.InMemory) }},
		{name: "cluster-enabled", get: fixed("yes")}, // as INFO's cluster_enabled
		{name: "tls-port", get: func(s *Server) string { return strconv.Itoa(s.cfg.TLS.Port) }},
		{name: "tls-auth-clients", get: func(s *Server) string { return s.cfg.TLS.authClients() }},
		{name: "protected-mode", get: func(s *Server) string { return yesNo(s.protected.Load()) }, set: setProtectedMode},
		outputLimitParam(),
		maxMemoryClientsParam(),
	}
}

// fileConfig reports whether name is a Redis parameter that names a file
// or directory, and whether Redis marks it protected. CONFIG SET refuses
// them all with Redis's wording ("can't set protected config" or "can't set
// immutable config"): a client must never point the server at a file.
func fileConfig(name string) (isFile, protected bool) {
	switch name {
	case "dir", "dbfilename":
		return true, true
	case "appendfilename", "appenddirname", "logfile", "pidfile", "unixsocket", "aclfile", "include",
		"tls-cert-file", "tls-key-file", "tls-ca-cert-file", "tls-ca-cert-dir",
		"tls-client-cert-file", "tls-client-key-file", "tls-dh-params-file":
		return true, false
	}
	return false, false
}

func setMaxClients(s *Server, v []byte) (func(), string) {
	n, ok := parseInt(v)
	switch {
	case !ok:
		return nil, "argument couldn't be parsed into an integer"
	case n < 1 || n > 1<<32-1:
		return nil, "argument must be between 1 and 4294967295 inclusive"
	}
	return func() { s.maxClients.Store(n) }, ""
}

// setTimeout sets the idle timeout, Redis's timeout, in seconds.
func setTimeout(s *Server, v []byte) (func(), string) {
	n, ok := parseInt(v)
	switch {
	case !ok:
		return nil, "argument couldn't be parsed into an integer"
	case n < 0 || n > math.MaxInt32:
		return nil, "argument must be between 0 and 2147483647 inclusive"
	}
	return func() { s.idle.Store(int64(time.Duration(n) * time.Second)) }, ""
}

func setProtectedMode(s *Server, v []byte) (func(), string) {
	switch {
	case equalFold(v, "yes"):
		return func() { s.protected.Store(true) }, ""
	case equalFold(v, "no"):
		return func() { s.protected.Store(false) }, ""
	}
	return nil, "argument must be 'yes' or 'no'"
}

// ceilSeconds returns d in whole seconds, rounded up: CONFIG GET timeout
// of a timeout under a second is not 0, which would mean none.
func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// cmdConfigGet implements CONFIG GET pattern [pattern ...]: glob patterns
// (Redis's *, ? and [...] syntax), matched without regard to case. Each
// parameter is reported once. As in Redis, a pattern without glob
// characters is a name, reported as the client spelled it.
func (s *Server) cmdConfigGet(c *session, args [][]byte) error {
	var out []string
	seen := map[string]bool{}
	for _, p := range args[2:] {
		pat := strings.ToLower(string(p))
		literal := !strings.ContainsAny(pat, "*?[")
		for _, cp := range configParams() {
			if seen[cp.name] {
				continue
			}
			if ok, err := path.Match(pat, cp.name); err == nil && ok {
				seen[cp.name] = true
				name := cp.name
				if literal {
					name = string(p)
				}
				out = append(out, name, cp.get(s))
			}
		}
	}
	c.w.mapLen(len(out) / 2)
	for _, v := range out {
		c.w.bulkString(v)
	}
	return nil
}

// cmdConfigSet implements CONFIG SET name value [name value ...], all or
// nothing as in Redis 7. Only maxclients, timeout, protected-mode,
// client-output-buffer-limit and maxmemory-clients can change at run time;
// the other parameters come from dynkv's configuration at start.
func (s *Server) cmdConfigSet(c *session, args [][]byte) error {
	if len(args)%2 != 0 {
		return arityError("config|set")
	}
	params := map[string]configParam{}
	for _, cp := range configParams() {
		params[cp.name] = cp
	}
	var applies []func()
	seen := map[string]bool{}
	for j := 2; j < len(args); j += 2 {
		name := strings.ToLower(string(args[j]))
		cp, known := params[name]
		isFile, protected := fileConfig(name)
		switch {
		case isFile && protected:
			return configSetError(string(args[j]), "can't set protected config")
		case isFile:
			return configSetError(string(args[j]), "can't set immutable config")
		case !known:
			return replyErr(fmt.Sprintf("ERR Unknown option or number of arguments for CONFIG SET - '%s'", args[j]))
		case seen[name]:
			return configSetError(string(args[j]), "duplicate parameter")
		case cp.set == nil:
			return configSetError(string(args[j]), "can't set immutable config")
		}
		seen[name] = true
		apply, reason := cp.set(s, args[j+1])
		if apply == nil {
			return configSetError(string(args[j]), reason)
		}
		applies = append(applies, apply)
	}
	for _, apply := range applies {
		apply()
	}
	c.w.ok()
	return nil
}

// cmdConfigResetStat zeroes the counters INFO reports. The backend's and the
// store's counters cannot be reset at their source; INFO reports them
// relative to the values they had at the reset.
func (s *Server) cmdConfigResetStat(c *session, _ [][]byte) error {
	st := &s.stats
	for _, v := range []interface{ Store(int64) }{
		&st.connections, &st.rejected, &st.commands, &st.errorReplies,
		&st.netIn, &st.netOut, &st.hits, &st.misses,
	} {
		v.Store(0)
	}
	s.base.Store(&baseline{backend: s.backend.Stats(), store: s.store.Stats()})
	c.w.ok()
	return nil
}

func (s *Server) cmdConfigHelp(c *session, _ [][]byte) error {
	writeHelp(c.w, "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
		"SET <directive> <value>", "    Set the configuration <directive> to <value>.",
		"RESETSTAT", "    Reset statistics reported by the INFO command.",
		"HELP", "    Prints this help.")
	return nil
}
