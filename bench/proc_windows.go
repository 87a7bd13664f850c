package bench

import "syscall"

// sysProcAttr: nothing special on Windows.
func sysProcAttr() *syscall.SysProcAttr { return nil }
