package launch

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// Config describes one process to start.
type Config struct {
	// Name names the process in logs and errors. Default: the base name of
	// Binary.
	Name string
	// Binary is the executable: a path, or a name looked up in PATH.
	// Required.
	Binary string
	// Args are its arguments, without the program name.
	Args []string
	// Env is added to the process's environment (KEY=value entries), after
	// the launcher's own environment without its DYNKV_ variables (see
	// Environ). Default none.
	Env []string
	// LogPath is a file that receives the process's standard output and
	// error, appended to and created (mode 0644) if missing; the launcher
	// closes it once the process has exited. "" sends them to Output.
	LogPath string
	// Output receives the process's standard output and error when LogPath
	// is "". Nil discards them.
	Output io.Writer
	// OwnGroup starts the process in a process group of its own (unix), so
	// that a Ctrl-C in the terminal reaches only the launcher, which then
	// stops its children in order. Default false.
	OwnGroup bool
	// DieWithParent has the kernel kill the process with SIGKILL should the
	// launcher die without stopping it (linux only). Default false.
	DieWithParent bool
	// Log receives a debug line when the process starts and when it is
	// stopped or killed. Nil discards.
	Log *slog.Logger
}

// Validate reports a Config that cannot start a process.
func (c Config) Validate() error {
	if c.Binary == "" {
		return errors.New("launch: binary: missing")
	}
	return nil
}

// Environ returns the launcher's environment without DYNKV_ variables,
// which would override the flags a harness gives dynkv, followed by extra.
func Environ(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DYNKV_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// Process is a started process. Its methods are safe for concurrent use.
type Process struct {
	cfg  Config // Name set
	cmd  *exec.Cmd
	log  *slog.Logger  // never nil
	done chan struct{} // closed once the process has exited and its log file is closed

	mu struct {
		sync.Mutex
		paused bool // Pause was called last, not Resume
	}
}

// Start starts the process cfg describes and returns at once; it does not
// wait for the process to serve anything. The caller must end the process:
// Stop, Kill, or Wait until it exits.
func Start(cfg Config) (*Process, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Name == "" {
		cfg.Name = filepath.Base(cfg.Binary)
	}
	p := &Process{cfg: cfg, log: cfg.Log, done: make(chan struct{})}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.cmd = exec.Command(cfg.Binary, cfg.Args...)
	p.cmd.Env = Environ(cfg.Env...)
	p.cmd.SysProcAttr = sysProcAttr(cfg)
	var file *os.File
	if cfg.LogPath != "" {
		f, err := os.OpenFile(cfg.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("launch: %s log: %w", cfg.Name, err)
		}
		file = f
		p.cmd.Stdout, p.cmd.Stderr = f, f
	} else if cfg.Output != nil {
		p.cmd.Stdout, p.cmd.Stderr = cfg.Output, cfg.Output
	}
	if err := p.cmd.Start(); err != nil {
		if file != nil {
			_ = file.Close()
		}
		return nil, fmt.Errorf("launch: start %s: %w", cfg.Name, err)
	}
	p.log.Debug("started", "name", cfg.Name, "pid", p.cmd.Process.Pid, "args", strings.Join(cfg.Args, " "))
	go func() {
		_ = p.cmd.Wait()
		if file != nil {
			_ = file.Close()
		}
		close(p.done)
	}()
	return p, nil
}

// Name returns the process's name (Config.Name or its default).
func (p *Process) Name() string { return p.cfg.Name }

// Pid returns the process ID.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// LogPath returns Config.LogPath.
func (p *Process) LogPath() string { return p.cfg.LogPath }

// Done returns a channel closed once the process has exited (and its log
// file, if any, is closed).
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// State returns how the process exited, or nil while it runs.
func (p *Process) State() *os.ProcessState {
	if !p.Exited() {
		return nil
	}
	return p.cmd.ProcessState
}

// Wait waits until the process exits and returns its exit code (-1 when a
// signal ended it), or ctx's error if ctx is done first.
func (p *Process) Wait(ctx context.Context) (int, error) {
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode(), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// Signal sends sig to the process. It does not wait.
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Kill kills the process with SIGKILL and waits until it has exited or ctx
// is done. Killing a process that has exited does nothing.
func (p *Process) Kill(ctx context.Context) error {
	if p.Exited() {
		return nil
	}
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
		p.log.Debug("killed", "name", p.cfg.Name)
		return nil
	case <-ctx.Done():
		return fmt.Errorf("launch: kill %s: %w", p.cfg.Name, ctx.Err())
	}
}

// Stop stops the process gracefully: SIGCONT if it is paused, SIGTERM,
// and a wait for it to exit. ctx bounds the wait: once ctx is done, Stop
// kills the process with SIGKILL, waits for it to exit and returns an
// error that wraps ErrKilled. Stopping a process that has exited does
// nothing.
func (p *Process) Stop(ctx context.Context) error {
	if p.Exited() {
		return nil
	}
	p.mu.Lock()
	if p.mu.paused {
		_ = resume(p.cmd.Process)
		p.mu.paused = false
	}
	p.mu.Unlock()
	_ = terminate(p.cmd.Process)
	select {
	case <-p.done:
		p.log.Debug("stopped", "name", p.cfg.Name)
		return nil
	case <-ctx.Done():
		_ = p.cmd.Process.Kill()
		<-p.done
		p.log.Debug("killed", "name", p.cfg.Name)
		return fmt.Errorf("launch: %s did not stop (%w): %w", p.cfg.Name, context.Cause(ctx), ErrKilled)
	}
}

// Pause stops the process with SIGSTOP; Resume continues it. Pausing a
// paused process, or resuming a running one, does nothing.
func (p *Process) Pause() error { return p.setPaused(true) }

// Resume continues a process that Pause stopped (SIGCONT).
func (p *Process) Resume() error { return p.setPaused(false) }

func (p *Process) setPaused(paused bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.paused == paused {
		return nil
	}
	var err error
	if paused {
		err = pause(p.cmd.Process)
	} else {
		err = resume(p.cmd.Process)
	}
	if errors.Is(err, ErrUnsupported) {
		return err
	}
	p.mu.paused = paused
	return err
}

// Tail returns the last n lines of the process's log file (Config.LogPath),
// or the error reading it; "" without a log file.
func (p *Process) Tail(n int) string {
	if p.cfg.LogPath == "" {
		return ""
	}
	b, err := os.ReadFile(p.cfg.LogPath)
	if err != nil {
		return err.Error()
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}
