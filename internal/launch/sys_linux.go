package launch

import (
	"os"
	"syscall"
)

// sysProcAttr returns the attributes of cfg: its own process group, and
// death with the launcher.
func sysProcAttr(cfg Config) *syscall.SysProcAttr {
	if !cfg.OwnGroup && !cfg.DieWithParent {
		return nil
	}
	a := &syscall.SysProcAttr{Setpgid: cfg.OwnGroup}
	if cfg.DieWithParent {
		a.Pdeathsig = syscall.SIGKILL
	}
	return a
}

func terminate(p *os.Process) error { return p.Signal(syscall.SIGTERM) }
func pause(p *os.Process) error     { return p.Signal(syscall.SIGSTOP) }
func resume(p *os.Process) error    { return p.Signal(syscall.SIGCONT) }
