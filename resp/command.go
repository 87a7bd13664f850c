package resp

import "strings"

// COMMAND and its subcommands describe the command table in Redis 7's
// formats, enough for redis-cli's interactive mode (hints come from COMMAND
// DOCS) and for client libraries that read key positions from COMMAND INFO.

// cmdCommand replies with every command's entry.
func (s *Server) cmdCommand(c *session, _ [][]byte) error {
	c.w.array(len(s.table.sorted))
	for _, cmd := range s.table.sorted {
		writeCommandInfo(c.w, cmd)
	}
	return nil
}

func (s *Server) cmdCommandCount(c *session, _ [][]byte) error {
	c.w.integer(int64(len(s.table.sorted)))
	return nil
}

// cmdCommandInfo replies with the entries of the named commands (a null for
// an unknown one), or of every command when none is named.
func (s *Server) cmdCommandInfo(c *session, args [][]byte) error {
	if len(args) == 2 {
		return s.cmdCommand(c, args)
	}
	c.w.array(len(args) - 2)
	for _, name := range args[2:] {
		if cmd := s.table.find(name); cmd != nil {
			writeCommandInfo(c.w, cmd)
		} else {
			c.w.null()
		}
	}
	return nil
}

// cmdCommandDocs replies with a map (flattened, as RESP2 does) from command
// name to its documentation, for the named commands (unknown ones are left
// out) or for every command.
func (s *Server) cmdCommandDocs(c *session, args [][]byte) error {
	cmds := s.table.sorted
	if len(args) > 2 {
		cmds = nil
		for _, name := range args[2:] {
			if cmd := s.table.find(name); cmd != nil {
				cmds = append(cmds, cmd)
			}
		}
	}
	c.w.array(2 * len(cmds))
	for _, cmd := range cmds {
		c.w.bulkString(cmd.name)
		writeCommandDocs(c.w, cmd)
	}
	return nil
}

// cmdCommandList replies with every command name, subcommands included
// ("client|list"). FILTERBY is not supported.
func (s *Server) cmdCommandList(c *session, args [][]byte) error {
	if len(args) > 2 {
		return errSyntax
	}
	var names []string
	for _, cmd := range s.table.sorted {
		names = append(names, cmd.name)
		for _, sc := range cmd.subs {
			names = append(names, sc.name)
		}
	}
	c.w.array(len(names))
	for _, n := range names {
		c.w.bulkString(n)
	}
	return nil
}

func (s *Server) cmdCommandHelp(c *session, _ [][]byte) error {
	writeHelp(c.w, "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"(no subcommand)", "    Return details about all commands.",
		"COUNT", "    Return the total number of commands in this server.",
		"LIST", "    Return a list of all commands in this server.",
		"INFO [<command-name> ...]", "    Return details about multiple commands.",
		"    If no command names are given, documentation details for all", "    commands are returned.",
		"DOCS [<command-name> ...]", "    Return documentation details about multiple commands.",
		"    If no command names are given, documentation details for all", "    commands are returned.",
		"HELP", "    Print this help.")
	return nil
}

// find looks a command or subcommand up by its full name ("get",
// "client|list"), ignoring case.
func (t *table) find(name []byte) *command {
	if cmd := t.lookup(name); cmd != nil {
		return cmd
	}
	return t.subs[strings.ToLower(string(name))]
}

// writeCommandInfo writes a command's entry in Redis 7's format: name,
// arity, flags, first key, last key, step, ACL categories, tips, key
// specifications, subcommands.
func writeCommandInfo(w *writer, c *command) {
	w.array(10)
	w.bulkString(c.name)
	w.integer(int64(c.arity))
	writeStatuses(w, c.flags)
	w.integer(int64(c.keys.first))
	w.integer(int64(c.keys.last))
	w.integer(int64(c.keys.step))
	writeStatuses(w, c.acl)
	w.array(0) // tips
	writeKeySpecs(w, c)
	w.array(len(c.subs))
	for _, sc := range c.subs {
		writeCommandInfo(w, sc)
	}
}

func writeStatuses(w *writer, list string) {
	words := strings.Fields(list)
	w.array(len(words))
	for _, f := range words {
		w.status(f)
	}
}

// writeKeySpecs writes the Redis 7 key specification equivalent to the
// command's (first, last, step), or none for a command without keys.
func writeKeySpecs(w *writer, c *command) {
	if c.keys.first == 0 {
		w.array(0)
		return
	}
	flags := "RW update"
	switch {
	case hasWord(c.flags, "readonly"):
		flags = "RO access"
	case strings.Contains(c.acl, "@keyspace"):
		flags = "RM delete"
	}
	last := c.keys.last
	if last > 0 {
		last -= c.keys.first
	}
	w.array(1)
	w.array(6)
	w.bulkString("flags")
	writeStatuses(w, flags)
	w.bulkString("begin_search")
	w.array(4)
	w.bulkString("type")
	w.bulkString("index")
	w.bulkString("spec")
	w.array(2)
	w.bulkString("index")
	w.integer(int64(c.keys.first))
	w.bulkString("find_keys")
	w.array(4)
	w.bulkString("type")
	w.bulkString("range")
	w.bulkString("spec")
	w.array(6)
	w.bulkString("lastkey")
	w.integer(int64(last))
	w.bulkString("keystep")
	w.integer(int64(c.keys.step))
	w.bulkString("limit")
	w.integer(0)
}

// writeCommandDocs writes a command's documentation map (flattened).
func writeCommandDocs(w *writer, c *command) {
	n := 3
	if len(c.subs) > 0 {
		n++
	}
	w.array(2 * n)
	w.bulkString("summary")
	w.bulkString(c.doc)
	w.bulkString("since")
	w.bulkString(c.since)
	w.bulkString("group")
	w.bulkString(c.group)
	if len(c.subs) > 0 {
		w.bulkString("subcommands")
		w.array(2 * len(c.subs))
		for _, sc := range c.subs {
			w.bulkString(sc.name)
			writeCommandDocs(w, sc)
		}
	}
}
