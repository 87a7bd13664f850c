package itest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dynkv/dynkv/internal/testenv"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/internal/launch"
)

// The client conformance suite (issue 14): real client libraries, each
// with its default options, run the same steps against redis-server (the
// oracle), one dynkv node and a three-node dynkv cluster. Every step must
// pass on redis-server, and on dynkv too unless testdata/clients/known-
// differences.txt lists it with the reason; a listed step that passes
// fails the test, so the list only shrinks.
//
// A step is added (as commands land: INCR, hashes, ...) to clientSteps
// here and in testdata/clients/node/steps.mjs and python/redispy.py, and
// implemented in goRedisSteps and in each script, with the library's
// ordinary API for it.

// clientSteps are the steps of every client, in the order each prints
// them. testdata/clients/node/steps.mjs and python/redispy.py have the
// same list.
var clientSteps = []string{
	"connect", "set-get", "set-ex", "ttl", "mset-mget", "del", "pipeline",
	"multi-exec", "watch", "scan", "pubsub", "dget", "error",
}

// The targets, as named in known-differences.txt.
const (
	oracle     = "redis-server"
	oneNode    = "dynkv"
	threeNodes = "dynkv-cluster"
)

var targets = []string{oracle, oneNode, threeNodes}

const (
	clientsDir      = "testdata/clients"
	differencesFile = clientsDir + "/known-differences.txt"
	// systemPython is Debian's interpreter, which python3-redis installs
	// for; a python3 earlier on PATH (pyenv) may not have it.
	systemPython = "/usr/bin/python3"
	// scriptTimeout bounds one script: its steps of at most stepTimeout
	// each, and its start.
	scriptTimeout = 150 * time.Second
)

// clientLib is one client library in one mode.
type clientLib struct {
	name    string // as in known-differences.txt
	cluster bool   // a Redis Cluster client: run against dynkv only, since the oracle is no cluster
	// script is the command line before MODE TARGET PREFIX ADDRS; nil runs
	// go-redis in this process.
	script []string
	mode   string
}

func clientLibs() []clientLib {
	node := func(file string) []string { return []string{"node", filepath.Join(clientsDir, "node", file)} }
	py := []string{systemPython, filepath.Join(clientsDir, "python", "redispy.py")}
	return []clientLib{
		{name: "go-redis", mode: "normal"},
		{name: "go-redis-cluster", cluster: true, mode: "cluster"},
		{name: "ioredis", script: node("ioredis.mjs"), mode: "normal"},
		{name: "ioredis-cluster", cluster: true, script: node("ioredis.mjs"), mode: "cluster"},
		{name: "node-redis6", script: node("node-redis.mjs"), mode: "redis6"},
		{name: "node-redis4", script: node("node-redis.mjs"), mode: "redis4"},
		{name: "redis-py", script: py, mode: "normal"},
		{name: "redis-py-cluster", cluster: true, script: py, mode: "cluster"},
	}
}

// missing returns why the library cannot run here (a tool or package is
// not installed, with how to install it), or "".
func (c clientLib) missing() string {
	switch {
	case c.script == nil:
		return ""
	case c.script[0] == "node":
		if _, err := exec.LookPath("node"); err != nil {
			return "node is not installed (apt-get install nodejs npm)"
		}
		for _, pkg := range []string{"ioredis", "redis6", "redis4"} {
			if _, err := os.Stat(filepath.Join(clientsDir, "node", "node_modules", pkg)); err != nil {
				return "the Node.js clients are not installed (cd internal/itest/testdata/clients/node && npm ci)"
			}
		}
	case c.script[0] == systemPython:
		if err := exec.Command(systemPython, "-c", "import redis").Run(); err != nil {
			return "redis-py is not installed (apt-get install python3-redis)"
		}
	}
	return ""
}

// run runs the library against target at addrs and returns its standard
// output; a script that fails to run returns an error with its stderr.
func (c clientLib) run(ctx context.Context, target string, addrs []string) (string, error) {
	prefix := c.name + "/" + target + ":" // every run has keys of its own
	ctx, cancel := context.WithTimeout(ctx, scriptTimeout)
	defer cancel()
	var out bytes.Buffer
	if c.script == nil {
		goRedis(ctx, &out, c.cluster, target, prefix, addrs)
		return out.String(), nil
	}
	var errb bytes.Buffer
	cmd := exec.CommandContext(ctx, c.script[0], append(c.script[1:], c.mode, target, prefix, strings.Join(addrs, ","))...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s: %w; stderr:\n%s", strings.Join(cmd.Args, " "), err, errb.String())
	}
	return out.String(), nil
}

// TestClients runs the client conformance suite. It starts redis-server,
// one dynkv node and a three-node cluster, runs every library against
// each at once (keys and channels namespaced per run), then judges the
// results. Without redis-server the test is skipped loudly; without node
// or redis-py, the libraries that need them are; under CI both fail.
func TestClients(t *testing.T) {
	if testing.Short() {
		t.Skip("client conformance suite skipped in -short mode")
	}
	start := time.Now()
	server := requireInstalled(t, "redis-server", "apt-get install redis-server")
	diffs, err := readDifferences(differencesFile)
	require.NoError(t, err)
	ctx := testContext(t)
	addrs := map[string][]string{oracle: {startRedisServer(t, server)}}
	addrs[oneNode] = []string{startNode(t, t.TempDir()).addr}
	nodes, _ := startCluster(t, ctx, 3)
	for _, n := range nodes {
		addrs[threeNodes] = append(addrs[threeNodes], n.client)
	}
	t.Logf("servers ready in %s", time.Since(start).Round(time.Millisecond))

	libs := clientLibs()
	res := runClients(libs, addrs)
	t.Logf("clients ran in %s", time.Since(start).Round(time.Millisecond))

	verdict := judge(libs, res.outcomes, diffs)
	for _, lib := range libs {
		t.Run(lib.name, func(t *testing.T) {
			if why := res.missing[lib.name]; why != "" {
				testenv.Missing(t, why)
			}
			for _, e := range res.errs[lib.name] {
				t.Error(e)
			}
			for _, p := range verdict.problems[lib.name] {
				t.Error(p)
			}
			slices.Sort(res.times[lib.name])
			t.Logf("%s (took %s)", verdict.summary[lib.name], strings.Join(res.times[lib.name], ", "))
		})
	}
	for _, p := range verdict.problems[""] {
		t.Error(p)
	}
}

// clientResults are the results of every library against every target.
type clientResults struct {
	missing  map[string]string   // library → why it cannot run here; "" when it ran
	outcomes map[runKey]outcome  // what each library printed for each step
	errs     map[string][]string // library → what went wrong running it
	times    map[string][]string // library → how long it took against each target

	mu sync.Mutex // guards the maps while the libraries run
}

// runClients runs every library that can run here against its targets
// (cluster clients not against the oracle), all at once, and returns
// when all are done.
func runClients(libs []clientLib, addrs map[string][]string) *clientResults {
	res := &clientResults{missing: map[string]string{}, outcomes: map[runKey]outcome{},
		errs: map[string][]string{}, times: map[string][]string{}}
	var wg sync.WaitGroup
	for _, lib := range libs {
		if res.missing[lib.name] = lib.missing(); res.missing[lib.name] != "" {
			continue
		}
		for _, target := range targets {
			if lib.cluster && target == oracle {
				continue
			}
			a := addrs[target]
			if !lib.cluster {
				a = a[:1] // a plain client talks to one node
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				began := time.Now()
				out, err := lib.run(context.Background(), target, a)
				res.record(lib.name, target, out, err, time.Since(began))
			}()
		}
	}
	wg.Wait()
	return res
}

func (r *clientResults) record(lib, target, out string, err error, took time.Duration) {
	steps, problems := parseSteps(out)
	if err != nil {
		problems = append(problems, err.Error())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range problems {
		r.errs[lib] = append(r.errs[lib], target+": "+p)
	}
	for step, o := range steps {
		r.outcomes[runKey{lib, target, step}] = o
	}
	r.times[lib] = append(r.times[lib], fmt.Sprintf("%s %s", target, took.Round(time.Millisecond)))
}

// requireInstalled returns the path of an executable, or skips the test
// loudly (fails it under CI).
func requireInstalled(t *testing.T, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		testenv.Missing(t, name+" is not installed ("+install+")")
	}
	return p
}

// startRedisServer starts the oracle on a free loopback port, without
// persistence, waits until it accepts connections and stops it at the end
// of the test.
func startRedisServer(t *testing.T, bin string) string {
	t.Helper()
	addr, err := launch.FreeAddr()
	require.NoError(t, err)
	_, port, _ := net.SplitHostPort(addr)
	logs := newLogWriter()
	p, err := launch.Start(launch.Config{Name: "redis-server", Binary: bin, Output: logs,
		Args: []string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir()}})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = p.Kill(context.Background())
		if t.Failed() {
			t.Logf("redis-server logs:\n%s", logs.String())
		}
	})
	waitFor(t, startTimeout, "redis-server accepts connections on "+addr, func() bool {
		require.False(t, p.Exited(), "redis-server exited: %s\n%s", p.State(), logs.String())
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	})
	return addr
}

// runKey names one step of one library against one target.
type runKey struct{ lib, target, step string }

// outcome is what a library printed for a step.
type outcome struct {
	status string // PASS, FAIL or SKIP (the library has no way to do the step in this mode)
	reason string // for FAIL and SKIP
}

// parseSteps reads a library's output: one line per step of clientSteps,
// in order, "PASS step", "FAIL step: reason" or "SKIP step: reason". It
// returns the outcomes it read and what is wrong with the output.
func parseSteps(out string) (map[string]outcome, []string) {
	got := map[string]outcome{}
	var problems []string
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	for i, line := range lines {
		status, rest, _ := strings.Cut(line, " ")
		step, reason, _ := strings.Cut(rest, ": ")
		switch {
		case status != "PASS" && status != "FAIL" && status != "SKIP":
			problems = append(problems, fmt.Sprintf("output line %d %q: want PASS, FAIL or SKIP and a step", i+1, line))
		case i >= len(clientSteps) || step != clientSteps[i]:
			problems = append(problems, fmt.Sprintf("output line %d %q: want the steps in the order %v", i+1, line, clientSteps))
		default:
			got[step] = outcome{status: status, reason: reason}
		}
	}
	for _, step := range clientSteps {
		if _, ok := got[step]; !ok {
			problems = append(problems, "no line for step "+step)
		}
	}
	return got, problems
}

// difference is one line of known-differences.txt: client target step:
// reason. Each of the three may be "*".
type difference struct {
	line                 int
	client, target, step string
	reason               string
}

func (d difference) matches(k runKey) bool {
	m := func(pattern, v string) bool { return pattern == "*" || pattern == v }
	return k.target != oracle && m(d.client, k.lib) && m(d.target, k.target) && m(d.step, k.step)
}

func (d difference) String() string {
	return fmt.Sprintf("%s:%d (%s %s %s)", differencesFile, d.line, d.client, d.target, d.step)
}

// readDifferences parses the known differences; blank lines and lines
// starting with # are ignored.
func readDifferences(path string) ([]difference, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	libs := []string{"*"}
	for _, l := range clientLibs() {
		libs = append(libs, l.name)
	}
	var diffs []difference
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		head, reason, ok := strings.Cut(line, ":")
		f := strings.Fields(head)
		reason = strings.TrimSpace(reason)
		if !ok || len(f) != 3 || reason == "" {
			return nil, fmt.Errorf("%s:%d: want `client target step: reason`, got %q", path, i+1, line)
		}
		d := difference{line: i + 1, client: f[0], target: f[1], step: f[2], reason: reason}
		switch {
		case !slices.Contains(libs, d.client):
			return nil, fmt.Errorf("%s:%d: unknown client %q (one of %v)", path, i+1, d.client, libs)
		case d.target != "*" && d.target != oneNode && d.target != threeNodes:
			return nil, fmt.Errorf("%s:%d: target %q: want %s, %s or *", path, i+1, d.target, oneNode, threeNodes)
		case d.step != "*" && !slices.Contains(clientSteps, d.step):
			return nil, fmt.Errorf("%s:%d: unknown step %q (one of %v)", path, i+1, d.step, clientSteps)
		}
		diffs = append(diffs, d)
	}
	return diffs, nil
}

// verdict is the judgement of a whole run.
type verdict struct {
	problems map[string][]string // per library; "" for the list of differences itself
	summary  map[string]string   // per library, one line per target
}

// judge applies the rules of the suite to the outcomes of the libraries
// that ran:
//
//   - every step passes on redis-server (DGET passes there when the server
//     answers an unknown-command error), or the library skips it;
//   - on a dynkv target, a step a library skips on redis-server may be
//     skipped; every other step passes, unless a difference lists it;
//   - a difference that matches a step that passes, or that excuses no
//     failure at all, is stale and must be removed or narrowed.
func judge(libs []clientLib, outcomes map[runKey]outcome, diffs []difference) verdict {
	v := verdict{problems: map[string][]string{}, summary: map[string]string{}}
	excused := map[int]int{} // difference line → failures it excuses
	ran := map[string]bool{} // libraries with outcomes
	for k := range outcomes {
		ran[k.lib] = true
	}
	for _, lib := range libs {
		if !ran[lib.name] {
			continue
		}
		var summary []string
		for _, target := range targets {
			if lib.cluster && target == oracle {
				continue
			}
			count := map[string]int{}
			for _, step := range clientSteps {
				k := runKey{lib.name, target, step}
				o, ok := outcomes[k]
				if !ok {
					continue // parseSteps reported it
				}
				kind, by, problems := judgeStep(lib, k, o, outcomes, diffs)
				count[kind]++
				if kind == "listed" {
					excused[by]++
				}
				v.problems[lib.name] = append(v.problems[lib.name], problems...)
			}
			summary = append(summary, fmt.Sprintf("%s: %d passed, %d listed differences, %d skipped",
				target, count["passed"], count["listed"], count["skipped"]))
		}
		v.summary[lib.name] = strings.Join(summary, "; ")
	}
	for _, d := range diffs {
		if excused[d.line] == 0 && (d.client == "*" || ran[d.client]) {
			v.problems[""] = append(v.problems[""], fmt.Sprintf("%s excuses no failure: remove it", d))
		}
	}
	return v
}

// judgeStep judges one outcome o of k: kind is passed, skipped, listed
// (a failure excused by the difference on line by), failed or unjudged
// (the oracle failed the step too, which is reported there).
func judgeStep(lib clientLib, k runKey, o outcome, outcomes map[runKey]outcome, diffs []difference) (kind string, by int, problems []string) {
	onOracle := outcomes[runKey{k.lib, oracle, k.step}].status
	switch {
	case o.status == "PASS":
		for _, d := range diffs {
			if d.matches(k) {
				problems = append(problems, fmt.Sprintf("%s %s: passes now, but %s lists it: remove or narrow that line", k.target, k.step, d))
			}
		}
		return "passed", 0, problems
	case o.status == "SKIP" && (k.target == oracle || lib.cluster || onOracle == "SKIP"):
		return "skipped", 0, nil
	case k.target == oracle:
		return "failed", 0, []string{fmt.Sprintf("%s %s: %s: %s (every step must pass on the oracle: the script or the library is wrong, not dynkv)",
			k.target, k.step, o.status, o.reason)}
	case !lib.cluster && onOracle != "PASS":
		return "unjudged", 0, nil
	}
	if i := slices.IndexFunc(diffs, func(d difference) bool { return d.matches(k) }); i >= 0 {
		return "listed", diffs[i].line, nil
	}
	why := "it passes on redis-server"
	if lib.cluster {
		why = "a cluster client must pass every step on dynkv"
	}
	return "failed", 0, []string{fmt.Sprintf("%s %s: %s: %s (%s: fix dynkv, or list it in %s with the reason from the README's compatibility table)",
		k.target, k.step, o.status, o.reason, why, differencesFile)}
}
