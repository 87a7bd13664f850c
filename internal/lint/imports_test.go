package lint

import (
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// module is the import path of the module.
const module = "github.com/dynkv/dynkv"

// leaves may be imported by any package: they import no other package of
// dynkv but leaves.
var leaves = []string{"version", "hashslot", "merkle", "errdefs", "admin", "admission", "engine", "internal/codec"}

// allowed lists, for each package of dynkv that is not a leaf or an
// internal test harness, the packages of dynkv (besides leaves) its
// non-test files may import: the directions of docs/design.md. A package
// missing here fails the test, so a new package must take its place.
var allowed = map[string][]string{
	"cmd/dynkv":   {"node", "conf", "bench", "internal/jepsen", "internal/launch", "internal/history"},
	"node":        {"conf", "resp", "coordinator", "antientropy", "ring", "replica", "peer"},
	"conf":        {"antientropy", "coordinator", "peer", "replica", "resp", "ring"}, // their Config types
	"resp":        {"coordinator"},
	"coordinator": {"ring", "replica", "peer"},
	"antientropy": {"ring", "replica", "peer"},
	"ring":        nil,
	"replica":     nil,
	"peer":        nil,
	"bench":       {"ring", "internal/launch"}, // the load harness: places keys by ring

	// What the binary ships of internal/: the real-process chaos checker
	// and what it stands on.
	"internal/jepsen":  {"internal/history", "internal/launch"},
	"internal/launch":  nil,
	"internal/history": nil,
}

// pending lists edges against the directions that are known and not yet
// removed, each with the reason. The test fails when one of them is no
// longer used, so the list only shrinks.
var pending = map[string][]string{}

// harnesses are the test harnesses, which may import anything: no
// production code imports them (the table above never names them).
var harnesses = []string{
	"internal/clustertest", "internal/memnet", "internal/itest", "internal/chaos", "internal/lint", "resp/resptest", "internal/testnet", "internal/testclock", "internal/testenv",
}

// harness reports whether pkg is a test harness.
func harness(pkg string) bool { return slices.Contains(harnesses, pkg) }

func TestImportDirections(t *testing.T) {
	edges := map[string]map[string]string{} // package → imported package → a file importing it
	for _, f := range parseTree(t) {
		if f.test() {
			continue
		}
		pkg := path.Dir(f.path)
		for _, imp := range f.ast.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			dep, ok := strings.CutPrefix(p, module+"/")
			if !ok {
				continue
			}
			if edges[pkg] == nil {
				edges[pkg] = map[string]string{}
			}
			edges[pkg][dep] = f.path
		}
		if edges[pkg] == nil {
			edges[pkg] = map[string]string{}
		}
	}
	pkgs := make([]string, 0, len(edges))
	for p := range edges {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	ok := func(list []string, dep string) bool {
		for _, a := range list {
			if a == dep || strings.HasSuffix(a, "/*") && strings.HasPrefix(dep, strings.TrimSuffix(a, "*")) {
				return true
			}
		}
		return false
	}
	for _, pkg := range pkgs {
		if harness(pkg) {
			continue
		}
		isLeaf := slices.Contains(leaves, pkg)
		list, known := allowed[pkg]
		if !isLeaf && !known {
			t.Errorf("%s: not in the table of import directions (internal/lint/imports_test.go, docs/design.md)", pkg)
			continue
		}
		for dep, file := range edges[pkg] {
			switch {
			case slices.Contains(leaves, dep):
			case isLeaf:
				t.Errorf("%s: leaf package imports %s (in %s): a leaf imports only leaves", pkg, dep, file)
			case ok(list, dep):
			case slices.Contains(pending[pkg], dep):
			default:
				t.Errorf("%s: imports %s (in %s), against the directions of docs/design.md", pkg, dep, file)
			}
		}
		for _, dep := range pending[pkg] {
			if _, used := edges[pkg][dep]; !used {
				t.Errorf("%s no longer imports %s: remove it from pending", pkg, dep)
			}
		}
	}
}

// TestImportDirections_Leaves checks that every leaf and harness exists, so
// that a renamed one does not silently become a package nobody places.
func TestImportDirections_Leaves(t *testing.T) {
	have := map[string]bool{}
	for _, f := range parseTree(t) {
		have[path.Dir(f.path)] = true
	}
	for _, l := range append(slices.Clone(leaves), harnesses...) {
		if !have[l] {
			t.Errorf("no package %s", l)
		}
	}
}
