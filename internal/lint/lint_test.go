package lint

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// root is the module root, relative to this package.
const root = "../.."

type file struct {
	path   string // slash-separated, relative to root
	fset   *token.FileSet
	ast    *ast.File
	ignore map[int]string // line → rule named by a //lint:ignore comment
}

func (f *file) test() bool    { return strings.HasSuffix(f.path, "_test.go") }
func (f *file) library() bool { return !strings.HasPrefix(f.path, "cmd/") && !f.test() }

func (f *file) ignored(rule string, pos token.Pos) bool {
	line := f.fset.Position(pos).Line
	return f.ignore[line] == rule || f.ignore[line-1] == rule
}

func parseTree(t *testing.T) []*file {
	t.Helper()
	var files []*file
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && p != root || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") {
			return nil
		}
		fset := token.NewFileSet()
		af, err := parser.ParseFile(fset, p, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		f := &file{path: filepath.ToSlash(rel), fset: fset, ast: af, ignore: map[int]string{}}
		for _, cg := range af.Comments {
			for _, c := range cg.List {
				if rest, ok := strings.CutPrefix(c.Text, "//lint:ignore "); ok {
					f.ignore[fset.Position(c.Pos()).Line] = strings.Fields(rest)[0]
				}
			}
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("found only %d Go files under %s: wrong root?", len(files), root)
	}
	return files
}

// imports maps local package names to import paths for f.
func imports(f *file) map[string]string {
	m := map[string]string{}
	for _, imp := range f.ast.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		name := path[strings.LastIndex(path, "/")+1:]
		if imp.Name != nil {
			name = imp.Name.Name
		}
		m[name] = path
	}
	return m
}

func TestHouseRules(t *testing.T) {
	for _, f := range parseTree(t) {
		imps := imports(f)
		for _, imp := range f.ast.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			switch {
			case path == "log" && f.library() && !f.ignored("NoLog", imp.Pos()):
				t.Errorf("%s: imports package log; use log/slog (NoLog)", f.path)
			case strings.HasPrefix(path, "github.com/spf13/viper") && !strings.HasPrefix(f.path, "conf/") &&
				!strings.HasPrefix(f.path, "cmd/") && !f.ignored("Viper", imp.Pos()):
				t.Errorf("%s: imports viper outside conf and cmd (Viper)", f.path)
			}
		}
		ast.Inspect(f.ast, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			path, name := imps[pkg.Name], sel.Sel.Name
			pos := f.fset.Position(sel.Pos())
			switch {
			case path == "fmt" && strings.HasPrefix(name, "Print") && f.library() && !f.ignored("NoPrint", sel.Pos()):
				t.Errorf("%s: fmt.%s in library code; log with slog (NoPrint)", pos, name)
			case path == "time" && name == "Sleep" && f.test() && !f.ignored("NoSleep", sel.Pos()):
				t.Errorf("%s: time.Sleep in a test; wait on a condition with a deadline (NoSleep)", pos)
			case path == "sync/atomic" && isRawAtomic(name) && !f.ignored("TypedAtomic", sel.Pos()):
				t.Errorf("%s: atomic.%s; use the typed atomics (TypedAtomic)", pos, name)
			}
			return true
		})
	}
}

func isRawAtomic(name string) bool {
	for _, p := range []string{"Add", "Load", "Store", "Swap", "CompareAndSwap", "And", "Or"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
