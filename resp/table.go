package resp

import (
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
)

// handler runs one command. args[0] is the command name as the client sent
// it (args[1] the subcommand's, for a subcommand); the arity has been
// checked. A handler writes its reply to c.w, or returns an error: exec then
// discards whatever the handler wrote and replies replyError(err).
type handler func(s *Server, c *session, args [][]byte) error

// keySpec gives the positions of a command's keys, Redis's legacy
// (first, last, step) triple; last < 0 counts from the end.
type keySpec struct{ first, last, step int }

var (
	noKeys    = keySpec{}
	oneKey    = keySpec{1, 1, 1}
	allKeys   = keySpec{1, -1, 1}
	everyPair = keySpec{1, -1, 2}
)

// command is one entry of the command table.
type command struct {
	name  string // full lowercase name: "get", "client|setname"
	arity int    // Redis convention, the name included: n > 0 exactly n, n < 0 at least -n
	flags string // Redis command flags for COMMAND INFO, space separated
	acl   string // ACL categories for COMMAND INFO, space separated
	keys  keySpec
	group string // COMMAND DOCS group
	since string // version that introduced it (Redis's, or dynkv's)
	doc   string // COMMAND DOCS summary
	run   handler
	subs  []*command // subcommands of a container command, sorted by name

	noAuth bool // may run before the client authenticates (flag no_auth)
	// concurrent: a plain data command on the key args[1] that, when it
	// names exactly one key, may run at the same time as the pipelined
	// commands around it on other keys (pipeline.go). Its handler must use
	// nothing of the session but its context and writer.
	concurrent bool
}

// count returns how many keys a command with argc arguments (the name
// included) names.
func (k keySpec) count(argc int) int {
	if k.first == 0 || k.step <= 0 {
		return 0
	}
	last := k.last
	if last < 0 {
		last += argc
	}
	if last < k.first || last >= argc {
		return 0
	}
	return (last-k.first)/k.step + 1
}

// arityOK reports whether argc arguments (the name included) fit the arity.
func (c *command) arityOK(argc int) bool {
	if c.arity > 0 {
		return argc == c.arity
	}
	return argc >= -c.arity
}

// table is the immutable command table of a Server.
type table struct {
	cmds   map[string]*command // by lowercase name
	sorted []*command          // by name, for COMMAND
	subs   map[string]*command // subcommands by full name ("client|setname")
}

// newTable indexes the commands of commands.go.
func newTable() *table {
	t := &table{cmds: map[string]*command{}, subs: map[string]*command{}}
	for _, c := range commandList() {
		c.noAuth = hasWord(c.flags, "no_auth")
		t.cmds[c.name] = c
		t.sorted = append(t.sorted, c)
		slices.SortFunc(c.subs, byName)
		for _, sc := range c.subs {
			sc.name = c.name + "|" + sc.name
			sc.noAuth = hasWord(sc.flags, "no_auth")
			t.subs[sc.name] = sc
		}
	}
	slices.SortFunc(t.sorted, byName)
	return t
}

func byName(a, b *command) int { return strings.Compare(a.name, b.name) }

func hasWord(list, w string) bool { return slices.Contains(strings.Fields(list), w) }

// lookup finds a command by name, ignoring ASCII case, without allocating.
func (t *table) lookup(name []byte) *command {
	if c, ok := t.cmds[string(name)]; ok {
		return c
	}
	if len(name) > 32 { // longer than any command name
		return nil
	}
	var buf [32]byte
	return t.cmds[string(appendLower(buf[:0], name))]
}

// sub finds a subcommand of c by name, ignoring ASCII case.
func (c *command) sub(name []byte) *command {
	prefix := len(c.name) + 1
	for _, sc := range c.subs {
		if equalFold(name, sc.name[prefix:]) {
			return sc
		}
	}
	return nil
}

// resolve finds the command (or subcommand) args invoke and checks its
// arity, in Redis's order: unknown command, unknown subcommand, arity.
func (t *table) resolve(args [][]byte) (*command, error) {
	c := t.lookup(args[0])
	if c == nil {
		return nil, unknownCommandError(args)
	}
	if len(c.subs) > 0 && len(args) >= 2 {
		sc := c.sub(args[1])
		if sc == nil {
			return nil, unknownSubcommandError(args[1], c.name)
		}
		c = sc
	}
	if !c.arityOK(len(args)) {
		return nil, arityError(c.name)
	}
	return c, nil
}

// exec runs one command for client c and writes its reply. It never panics:
// a panic in the command is logged with its stack and replied to as an
// internal error.
func (s *Server) exec(c *session, args [][]byte) {
	if len(args) == 0 {
		return
	}
	s.stats.commands.Add(1)
	mark := c.w.mark()
	defer s.recoverCommand(c, mark)
	cmd, err := s.table.resolve(args)
	if err == nil && !c.authed && !cmd.noAuth {
		err = errNoAuth
	}
	if err == nil {
		err = s.checkKeys(cmd, args)
	}
	if err == nil && subscribedOnly(c, cmd) {
		err = replyErr(fmt.Sprintf(errSubscribedContext, cmd.name))
	}
	if c.tx.multi {
		if err != nil {
			c.tx.dirty = true // EXEC will answer EXECABORT
		} else if !txControl(cmd) {
			c.queue(args)
			return
		}
	}
	if err == nil {
		c.lastCmd.Store(cmd)
		err = cmd.run(s, c, args)
	}
	if err != nil {
		s.replyFailed(c, mark, s.replyError(err))
	}
}

// replyFailed replaces the reply of the command that wrote from mark on by
// the error reply msg. If part of the reply has been sent already (a
// streamed reply), the client cannot be told: its connection ends.
func (s *Server) replyFailed(c *session, mark int, msg string) {
	if !c.w.truncate(mark) {
		s.log.Info("reply cut short: closing the client", "client", c.id, "remote", c.addr, "err", msg)
		return
	}
	s.stats.errorReplies.Add(1)
	c.w.errorReply(msg)
}

// checkKeys refuses a command that names a key longer than
// Config.MaxKeySize.
func (s *Server) checkKeys(cmd *command, args [][]byte) error {
	k := cmd.keys
	for i, n := 0, k.count(len(args)); i < n; i++ {
		if key := args[k.first+i*k.step]; int64(len(key)) > s.cfg.MaxKeySize {
			return keyTooLargeError(len(key), s.cfg.MaxKeySize)
		}
	}
	return nil
}

// recoverCommand turns a panic of the running command into an error reply.
// It must be deferred directly by exec.
func (s *Server) recoverCommand(c *session, mark int) {
	r := recover()
	if r == nil {
		return
	}
	name := "unknown"
	if cmd := c.lastCmd.Load(); cmd != nil {
		name = cmd.name
	}
	s.log.Error("command panicked", "command", name, "client", c.id, "panic", r, "stack", string(debug.Stack()))
	s.replyFailed(c, mark, string(errInternal))
}
