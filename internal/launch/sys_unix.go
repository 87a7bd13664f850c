//go:build unix && !linux

package launch

import (
	"os"
	"syscall"
)

// sysProcAttr returns the attributes of cfg: its own process group.
// DieWithParent has no equivalent here.
func sysProcAttr(cfg Config) *syscall.SysProcAttr {
	if !cfg.OwnGroup {
		return nil
	}
	return &syscall.SysProcAttr{Setpgid: true}
}

func terminate(p *os.Process) error { return p.Signal(syscall.SIGTERM) }
func pause(p *os.Process) error     { return p.Signal(syscall.SIGSTOP) }
func resume(p *os.Process) error    { return p.Signal(syscall.SIGCONT) }
