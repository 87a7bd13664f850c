//go:build !unix

package launch

import (
	"os"
	"syscall"
)

// sysProcAttr: nothing special outside unix.
func sysProcAttr(Config) *syscall.SysProcAttr { return nil }

// terminate asks for an exit as unix's SIGTERM does; where the system has
// no such signal the error is returned and Stop kills after its grace.
func terminate(p *os.Process) error { return p.Signal(syscall.SIGTERM) }
func pause(*os.Process) error       { return ErrUnsupported }
func resume(*os.Process) error      { return ErrUnsupported }
