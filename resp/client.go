package resp

import (
	"fmt"
	"strings"
	"time"
)

func (s *Server) cmdClientSetName(c *session, args [][]byte) error {
	if !validAttr(args[2]) {
		return errClientName
	}
	c.setName(string(args[2]))
	c.w.ok()
	return nil
}

func (s *Server) cmdClientGetName(c *session, _ [][]byte) error {
	name := c.name()
	c.w.bulkOrNull([]byte(name), name != "")
	return nil
}

func (s *Server) cmdClientID(c *session, _ [][]byte) error {
	c.w.integer(c.id)
	return nil
}

// cmdClientSetInfo stores LIB-NAME or LIB-VER, shown by CLIENT LIST. Client
// libraries (go-redis v9) send both after connecting.
func (s *Server) cmdClientSetInfo(c *session, args [][]byte) error {
	attr, val := args[2], args[3]
	isName := equalFold(attr, "lib-name")
	if !isName && !equalFold(attr, "lib-ver") {
		return replyErr(fmt.Sprintf("ERR Unrecognized option '%s'", attr))
	}
	if !validAttr(val) {
		return replyErr(fmt.Sprintf("ERR %s cannot contain spaces, newlines or special characters.", attr))
	}
	c.mu.Lock()
	if isName {
		c.mu.libName = string(val)
	} else {
		c.mu.libVer = string(val)
	}
	c.mu.Unlock()
	c.w.ok()
	return nil
}

// cmdClientList implements CLIENT LIST [TYPE normal|master|replica|pubsub]
// [ID id ...]. Every dynkv client is of type normal.
func (s *Server) cmdClientList(c *session, args [][]byte) error {
	var ids map[int64]bool
	onlyNone := false
	for j := 2; j < len(args); j++ {
		switch {
		case equalFold(args[j], "type") && j+1 < len(args):
			t := strings.ToLower(string(args[j+1]))
			switch t {
			case "normal":
			case "master", "replica", "slave", "pubsub":
				onlyNone = true
			default:
				return replyErr(fmt.Sprintf("ERR Unknown client type '%s'", args[j+1]))
			}
			j++
		case equalFold(args[j], "id") && j+1 < len(args):
			ids = map[int64]bool{}
			for j++; j < len(args); j++ {
				id, ok := parseInt(args[j])
				if !ok || id <= 0 {
					return replyErr("ERR Invalid client ID")
				}
				ids[id] = true
			}
		default:
			return errSyntax
		}
	}
	s.mu.Lock()
	clients := s.clientsLocked()
	s.mu.Unlock()
	now := s.now()
	var b strings.Builder
	for _, o := range clients {
		if onlyNone || (ids != nil && !ids[o.id]) {
			continue
		}
		b.WriteString(clientLine(o, now))
		b.WriteByte('\n')
	}
	c.w.verbatim(b.String())
	return nil
}

func (s *Server) cmdClientInfo(c *session, _ [][]byte) error {
	c.w.verbatim(clientLine(c, s.now()) + "\n")
	return nil
}

func (s *Server) cmdClientHelp(c *session, _ [][]byte) error {
	writeHelp(c.w, "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"GETNAME", "    Return the name of the current connection.",
		"ID", "    Return the ID of the current connection.",
		"INFO", "    Return information about the current client connection.",
		"LIST [options ...]", "    Return information about client connections. Options:",
		"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)", "      Return clients of specified type.",
		"    * ID id [id ...]", "      Return clients of specified IDs only.",
		"SETNAME <name>", "    Assign the name <name> to the current connection.",
		"SETINFO <option> <value>", "    Set client meta attr. Options are:",
		"    * LIB-NAME: the client lib name.", "    * LIB-VER: the client lib version.",
		"HELP", "    Print this help.")
	return nil
}

// clientLine formats one client as Redis 7.2's CLIENT LIST does. Fields
// that describe Redis internals dynkv does not have read 0; qbuf, omem and
// tot-mem are the client's accounted query and output bytes (memory.go).
func clientLine(c *session, now time.Time) string {
	c.mu.Lock()
	name, libName, libVer := c.mu.name, c.mu.libName, c.mu.libVer
	c.mu.Unlock()
	cmd := "NULL"
	if lc := c.lastCmd.Load(); lc != nil {
		cmd = lc.name
	}
	age := int64(now.Sub(c.created) / time.Second)
	idle := int64(now.Sub(time.Unix(0, c.lastActive.Load())) / time.Second)
	qbuf, omem := c.mem.query.Load(), c.mem.output()
	return fmt.Sprintf("id=%d addr=%s laddr=%s fd=-1 name=%s age=%d idle=%d flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 "+
		"qbuf=%d qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=%d tot-mem=%d events=r cmd=%s "+
		"user=default redir=-1 resp=2 lib-name=%s lib-ver=%s",
		c.id, c.addr, c.laddr, name, max(age, 0), max(idle, 0), qbuf, omem, qbuf+omem, cmd, libName, libVer)
}

// writeHelp writes a HELP reply: an array of status lines.
func writeHelp(w *writer, lines ...string) {
	w.array(len(lines))
	for _, l := range lines {
		w.status(l)
	}
}
