package lint

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// mdLink matches a Markdown link's target: [text](target).
var mdLink = regexp.MustCompile(`\]\(([^()\s]+)\)`)

// TestDocLinks: every relative link in the repository's Markdown files
// resolves to a file or directory of the repository, and every #anchor to
// a heading of the file it names (GitHub's slugs). Links to the web are
// not checked.
func TestDocLinks(t *testing.T) {
	anchors := map[string]map[string]bool{} // file → its heading slugs
	var docs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// node_modules: the npm packages of the client conformance suite
		// (internal/itest/testdata/clients/node), installed, not ours.
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && p != root || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".md") {
			docs = append(docs, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slugsOf := func(p string) map[string]bool {
		if m, ok := anchors[p]; ok {
			return m
		}
		m := map[string]bool{}
		raw, err := os.ReadFile(p)
		if err == nil {
			inCode := false
			for _, l := range strings.Split(string(raw), "\n") {
				if strings.HasPrefix(l, "```") {
					inCode = !inCode
				}
				if !inCode && strings.HasPrefix(l, "#") {
					m[slug(strings.TrimLeft(l, "# "))] = true
				}
			}
		}
		anchors[p] = m
		return m
	}
	if len(docs) == 0 {
		t.Fatal("no Markdown files found")
	}
	for _, doc := range docs {
		raw, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		inCode := false
		for n, l := range strings.Split(string(raw), "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "```") {
				inCode = !inCode
			}
			if inCode {
				continue
			}
			for _, m := range mdLink.FindAllStringSubmatch(l, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				file, anchor, _ := strings.Cut(target, "#")
				dest := doc
				if file != "" {
					dest = filepath.Join(filepath.Dir(doc), file)
					if _, err := os.Stat(dest); err != nil {
						t.Errorf("%s:%d: link to %s: no such file", rel(doc), n+1, target)
						continue
					}
				}
				if anchor != "" && strings.HasSuffix(dest, ".md") && !slugsOf(dest)[anchor] {
					t.Errorf("%s:%d: link to %s: no such heading in %s", rel(doc), n+1, target, rel(dest))
				}
			}
		}
	}
}

// slug is GitHub's anchor of a heading: lower case, punctuation dropped,
// spaces turned into dashes.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ' || r == '-':
			b.WriteByte('-')
		case r == '_' || ('a' <= r && r <= 'z') || ('0' <= r && r <= '9') || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func rel(p string) string {
	r, err := filepath.Rel(root, p)
	if err != nil {
		return p
	}
	return filepath.ToSlash(r)
}
