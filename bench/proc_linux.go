package bench

import "syscall"

// sysProcAttr puts a child in its own process group, so that a Ctrl-C in
// the terminal reaches only the bench, which then stops its children in
// order; and has the kernel kill it should the bench die without doing so.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
