package jepsen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// CanNetns reports whether this process can create a network namespace
// for a run with partitions: it is root, not yet inside one of its own, and
// ip and nft are installed. The reason is set when it cannot.
func CanNetns() (ok bool, why string) {
	switch {
	case os.Getenv(NetnsEnv) != "":
		return false, "already inside the run's namespace"
	case os.Geteuid() != 0:
		return false, "not root"
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			return false, tool + " is not installed (apt-get install iproute2 nftables)"
		}
	}
	return true, ""
}

// ErrNetnsSetup reports that the namespace could not be set up (a
// container without CAP_SYS_ADMIN, say); nothing ran in it.
var ErrNetnsSetup = errors.New("jepsen: cannot set up a network namespace")

// InNetns runs exe with args inside a new network namespace (loopback up)
// with NetnsEnv set, passing its output through, and deletes the
// namespace afterwards. It returns exe's exit error.
func InNetns(ctx context.Context, exe string, args []string, stdout, stderr io.Writer) error {
	ns := "dynkv-chaos-" + strconv.Itoa(os.Getpid())
	if out, err := exec.CommandContext(ctx, "ip", "netns", "add", ns).CombinedOutput(); err != nil {
		return fmt.Errorf("%w: ip netns add %s: %v: %s", ErrNetnsSetup, ns, err, out)
	}
	defer func() { _ = exec.Command("ip", "netns", "del", ns).Run() }()
	if out, err := exec.CommandContext(ctx, "ip", "-n", ns, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		return fmt.Errorf("%w: loopback up in %s: %v: %s", ErrNetnsSetup, ns, err, out)
	}
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, exe}, args...)...)
	cmd.Env = append(os.Environ(), NetnsEnv+"="+ns)
	// Interrupted, the inner run gets SIGTERM and time to stop its nodes
	// and report; it dies with this process whatever kills it.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = time.Minute
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	cmd.Stdout, cmd.Stderr, cmd.Stdin = stdout, stderr, nil
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit
	}
	return err
}
