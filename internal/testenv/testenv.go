// Package testenv is how a test says that something it needs from the
// machine (a tool, root, a network address) is missing.
package testenv

import (
	"fmt"
	"os"
	"testing"
)

// Missing stops t because what it needs is missing: a loud skip on a
// developer's machine, a failure under CI (CI set), which installs and
// allows everything the tests need (.ci/run). It does not return.
func Missing(t testing.TB, why string) {
	t.Helper()
	msg := fmt.Sprintf("!!!!!!!! %s: this test did NOT run. Install what it needs, or run .ci/run. !!!!!!!!", why)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
