package main

import (
	"runtime/debug"
	"strings"
)

// Version is the release of this source tree.
const Version = "0.1.0-dev"

// versionString returns Version and, when the binary was built from a
// version-control checkout, the revision it was built from, plus the Go
// version: "dynkv 0.1.0-dev (revision 1a2b3c4d5e6f, modified) go1.26.8".
func versionString() string {
	var b strings.Builder
	b.WriteString("dynkv " + Version)
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b.String()
	}
	var rev string
	var modified bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev != "" {
		b.WriteString(" (revision " + rev[:min(12, len(rev))])
		if modified {
			b.WriteString(", modified")
		}
		b.WriteString(")")
	}
	b.WriteString(" " + bi.GoVersion)
	return b.String()
}
