package resp

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dynkv/dynkv/replica"
	"github.com/stretchr/testify/require"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the golden RESP transcripts in testdata/*.txt")

// TestGolden replays the RESP transcripts in testdata/*.txt and compares
// every reply byte for byte. A transcript is a sequence of lines:
//
//	# a comment
//	#! requirepass pw      a directive: configure the server (first lines only)
//	#! advance 1s          a directive: move the clock
//	a> SET k "a b"         a request by client a (the name may be empty)
//	< "+OK\r\n"            the exact reply, Go-quoted
//	< ":100000\r\n" ~50    an integer reply within 50 of the one given
//	#! redis               the transcript holds for redis-server 7 too
//	                       (TestGolden_Redis replays it there; no advance)
//	#! memory < "..."      after a reply: what a store with storage memory
//	                       replies instead (every transcript runs on both
//	                       engines)
//
// In requests and replies, <now+Ns> and <now-Ns> stand for the unix time
// in seconds N seconds from now by the server's clock, and <nowms+N> and
// <nowms-N> for the unix time in milliseconds.
//
// Request arguments are separated by single spaces; an argument may be
// Go-quoted. DGET's context depends on the store's random actor, so in
// replies it shows as <ctxN> (its whole bulk string), numbered by first
// appearance, and a request may use <ctxN> for it. Run with -rewrite to
// regenerate the replies after an intended change, then review the diff.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, storage := range []replica.Storage{replica.StoragePebble, replica.StorageMemory} {
		t.Run(string(storage), func(t *testing.T) {
			for _, f := range files {
				t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
					runTranscript(t, f, storage)
				})
			}
		})
	}
}

var requestLine = regexp.MustCompile(`^(\w*)> (.*)$`)

type transcript struct {
	t       *testing.T
	env     *testEnv
	clients map[string]*testClient
	ctxs    map[string]string // context → "<ctxN>"
	byName  map[string]string // "<ctxN>" → context
}

// runTranscript replays the transcript at path against a server whose
// store is on storage: the replies are the same on either engine.
func runTranscript(t *testing.T, path string, storage replica.Storage) {
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	cfg := DefaultConfig()
	for _, l := range lines {
		if d, ok := strings.CutPrefix(l, "#! requirepass "); ok {
			cfg.RequirePass = d
		}
	}
	tr := &transcript{t: t, env: newTestEnvOn(t, cfg, storage), clients: map[string]*testClient{}, ctxs: map[string]string{}, byName: map[string]string{}}
	var out []string
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		out = append(out, l)
		if d, ok := strings.CutPrefix(l, "#! advance "); ok {
			dur, err := time.ParseDuration(d)
			require.NoError(t, err, "%s:%d", path, i+1)
			tr.env.clock.Advance(dur)
			continue
		}
		m := requestLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		reply := tr.run(m[1], m[2], path, i+1)
		got := "< " + strconv.Quote(reply)
		if i+1 < len(lines) && strings.HasPrefix(lines[i+1], "< ") {
			i++
			want := lines[i]
			if alt, ok := strings.CutPrefix(at(lines, i+1), "#! memory "); ok && storage == replica.StorageMemory {
				// What a node with storage memory answers instead.
				want = alt
			}
			match := matchReply(want, reply, tr.env.clock.Now())
			if match {
				got = lines[i] // keep its placeholders and tolerance
			}
			if !*rewrite && !match {
				require.Equal(t, want, got, "%s:%d: %s (storage %s)", path, i+1, l, storage)
			}
		} else if !*rewrite {
			t.Errorf("%s:%d: no reply line after %q; run with -rewrite", path, i+1, l)
		}
		out = append(out, got)
	}
	if *rewrite {
		require.NoError(t, os.WriteFile(path, []byte(strings.Join(out, "\n")+"\n"), 0o644))
	}
}

// at returns lines[i], or "" past the end.
func at(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return ""
}

// run executes one request line for a client and returns its normalized
// reply.
func (tr *transcript) run(client, line, path string, n int) string {
	c := tr.clients[client]
	if c == nil {
		c = tr.env.client()
		tr.clients[client] = c
	}
	args, err := splitArgs(expandTimes(line, tr.env.clock.Now()))
	require.NoError(tr.t, err, "%s:%d", path, n)
	for i, a := range args {
		if ctx, ok := tr.byName[a]; ok {
			args[i] = ctx
		}
	}
	reply := c.do(args...)
	if len(args) > 0 && strings.EqualFold(args[0], "DGET") && strings.HasPrefix(reply, "*2\r\n$") {
		v, _ := parseReply(tr.t, reply)
		ctx := v.([]respValue)[0].(string)
		name, ok := tr.ctxs[ctx]
		if !ok {
			name = "<ctx" + strconv.Itoa(len(tr.ctxs)+1) + ">"
			tr.ctxs[ctx], tr.byName[name] = name, ctx
		}
		reply = strings.Replace(reply, bulk(ctx), name, 1)
	}
	return reply
}

var (
	timePlaceholder = regexp.MustCompile(`<now(ms)?([+-])(\d+)(s?)>`)
	toleranceSuffix = regexp.MustCompile(` ~(\d+)$`)
)

// expandTimes replaces the time placeholders of s with times from now.
func expandTimes(s string, now time.Time) string {
	return timePlaceholder.ReplaceAllStringFunc(s, func(p string) string {
		m := timePlaceholder.FindStringSubmatch(p)
		n, _ := strconv.ParseInt(m[3], 10, 64)
		if m[2] == "-" {
			n = -n
		}
		if m[1] == "ms" {
			return strconv.FormatInt(now.UnixMilli()+n, 10)
		}
		return strconv.FormatInt(now.Unix()+n, 10)
	})
}

// matchReply reports whether the raw reply got matches the transcript's
// reply line want ('< "…"', with placeholders and an optional tolerance)
// at time now.
func matchReply(want, got string, now time.Time) bool {
	line := strings.TrimPrefix(want, "< ")
	tol := int64(-1)
	if m := toleranceSuffix.FindStringSubmatch(line); m != nil {
		tol, _ = strconv.ParseInt(m[1], 10, 64)
		line = strings.TrimSuffix(line, m[0])
	}
	exp, err := strconv.Unquote(expandTimes(line, now))
	if err != nil {
		return false
	}
	if exp == got {
		return true
	}
	if tol < 0 || !strings.HasPrefix(exp, ":") || !strings.HasPrefix(got, ":") {
		return false
	}
	e, err1 := strconv.ParseInt(strings.TrimSuffix(exp[1:], "\r\n"), 10, 64)
	g, err2 := strconv.ParseInt(strings.TrimSuffix(got[1:], "\r\n"), 10, 64)
	return err1 == nil && err2 == nil && g >= e-tol && g <= e+tol
}

// splitArgs splits a request line at single spaces; an argument that starts
// with a double quote is a Go-quoted string.
func splitArgs(line string) ([]string, error) {
	var args []string
	for line != "" {
		if strings.HasPrefix(line, `"`) {
			q, err := strconv.QuotedPrefix(line)
			if err != nil {
				return nil, err
			}
			s, _ := strconv.Unquote(q)
			args = append(args, s)
			line = strings.TrimPrefix(line[len(q):], " ")
			continue
		}
		a, rest, _ := strings.Cut(line, " ")
		args = append(args, a)
		line = rest
	}
	return args, nil
}
