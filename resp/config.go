package resp

import (
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/dynkv/dynkv/version"
)

// Config configures the RESP front end.
type Config struct {
	// Listen is the client address, host:port. Default "127.0.0.1:6379".
	Listen string
	// RequirePass, when not empty, is the password clients must AUTH with.
	// Default empty (no authentication).
	RequirePass string
	// MaxClients is the maximum number of connected clients; further
	// connections get "ERR max number of clients reached". Default 10000.
	MaxClients int
	// MaxValueSize is the largest value (and any single bulk string) a
	// request may carry, in bytes. Checked before the bytes are read.
	// Default 64 MiB.
	MaxValueSize int64
	// MaxKeySize is the longest key a command may name, bytes: a command
	// naming a longer one is refused before it runs (a key is also an
	// argument, so MaxValueSize bounds it too). Default 64 KiB.
	MaxKeySize int64
	// MaxRequestSize is the largest request (all bulk strings of one
	// command together), in bytes. Default 512 MiB.
	MaxRequestSize int64
	// IdleTimeout closes a client that has sent nothing and been sent
	// nothing for longer than this, as Redis's timeout: a client whose
	// command is running is not idle. 0 means never. Key
	// client-idle-timeout; CONFIG GET and SET timeout read and change it
	// in seconds. Default 0.
	IdleTimeout time.Duration
	// AuthGrace closes a client that has not authenticated this long
	// after it connected, when RequirePass is set, so that connections
	// that never authenticate do not hold client slots. 0 means never. Key
	// auth-grace. Default 10s.
	AuthGrace time.Duration
	// NoProtectedMode turns Redis's protected mode off. While it is on
	// and RequirePass is empty, a client connecting from a non-loopback
	// address gets Redis's DENIED error and is closed (a server that
	// listens on loopback only ever sees loopback clients). Key
	// protected-mode (yes means false); CONFIG SET protected-mode changes
	// it at run time. Default false: protected.
	NoProtectedMode bool
	// TLS configures the TLS client port (Redis's tls-* parameters).
	TLS TLSConfig
	// InMemory says the node's store keeps no data on disk (storage
	// memory): CONFIG GET appendonly answers no. Set by the node.
	InMemory bool
	// PipelineWindow is the most commands of one connection's pipeline
	// that run at once: plain single-key commands on different keys
	// overlap up to this many (see the package documentation), with
	// replies still in order. 1 runs every command after the one before.
	// At most 1024. Default DefaultPipelineWindow.
	PipelineWindow int
	// OutputBufferHard is the client output buffer limit's hard limit
	// (Redis's client-output-buffer-limit for normal clients), bytes: a
	// client whose replies waiting for its socket exceed it is closed. At
	// least MaxValueSize plus 64 KiB, so that a reply of the largest value
	// always fits; 0 means no limit. Default DefaultOutputBufferHard.
	OutputBufferHard int64
	// OutputBufferSoft is the soft limit, bytes: a client whose waiting
	// replies stay above it for OutputBufferSoftTime is closed. 0 means
	// none. Default 0.
	OutputBufferSoft int64
	// OutputBufferSoftTime is how long the output may stay above
	// OutputBufferSoft, whole seconds as in Redis. Default 0.
	OutputBufferSoftTime time.Duration
	// MaxMemoryClients bounds the bytes all clients' buffers hold
	// together (requests being read and replies waiting), bytes: beyond it
	// the client using the most is closed, as Redis's maxmemory-clients.
	// 0 means no limit. Default DefaultMaxMemoryClients.
	MaxMemoryClients int64
	// Logger receives the front end's logs; nil discards them. The logger
	// passed to New, when not nil, takes precedence.
	Logger *slog.Logger
	// Clock returns the current time for TIME, INFO and CLIENT LIST; nil
	// means time.Now. Tests inject their own. Socket deadlines always use
	// the real time.
	Clock func() time.Time
	// ContextKey signs the contexts DGET hands out and checks those DPUT
	// and DDEL bring back; every node of a cluster has the same one
	// (version.DeriveContextKey of the cluster secret). The zero value
	// means a key of the server's own, drawn at New: its contexts are
	// valid while it runs.
	ContextKey version.ContextKey
	// AcceptedContextKey is a second key whose contexts DPUT and DDEL
	// accept: that of cluster.accepted-secret, during a rotation of the
	// cluster secret. The zero value accepts none.
	AcceptedContextKey version.ContextKey
}

// DefaultOutputBufferHard is Config.OutputBufferHard's default: twice the
// default MaxValueSize, so that a client reading the largest values keeps
// one in its buffer and one more on the way. Redis has no limit for normal
// clients; dynkv must be bounded (one MGET made a node hold gigabytes).
const DefaultOutputBufferHard = 128 << 20

// DefaultMaxMemoryClients is Config.MaxMemoryClients' default: room for the
// largest request (the default MaxRequestSize, 512 MiB) and as much again
// for everyone else. Redis has no limit by default; dynkv must be bounded:
// a few clients holding partial requests grew memory without one.
const DefaultMaxMemoryClients = 1 << 30

// outputSlack is what Config.OutputBufferHard must allow beyond the
// largest value: the rest of a buffer of replies.
const outputSlack = flushThreshold

// DefaultPipelineWindow is Config.PipelineWindow's default.
const DefaultPipelineWindow = 1

// maxPipelineWindow bounds Config.PipelineWindow: each command in flight
// may hold a goroutine and a reply.
const maxPipelineWindow = 1024

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{
		Listen:           "127.0.0.1:6379",
		MaxClients:       10000,
		MaxValueSize:     64 << 20,
		MaxKeySize:       64 << 10,
		MaxRequestSize:   512 << 20,
		PipelineWindow:   DefaultPipelineWindow,
		AuthGrace:        10 * time.Second,
		TLS:              TLSConfig{AuthClients: TLSAuthYes},
		OutputBufferHard: DefaultOutputBufferHard,
		MaxMemoryClients: DefaultMaxMemoryClients,
	}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	_, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return fmt.Errorf("resp: listen: %q is not host:port: %w", c.Listen, err)
	}
	switch {
	case c.MaxClients < 1:
		return fmt.Errorf("resp: maxclients: must be at least 1, got %d", c.MaxClients)
	case c.MaxValueSize < 1:
		return fmt.Errorf("resp: max-value-size: must be at least 1, got %d", c.MaxValueSize)
	case c.MaxKeySize < 1:
		return fmt.Errorf("resp: max-key-size: must be at least 1, got %d", c.MaxKeySize)
	case c.MaxRequestSize < c.MaxValueSize:
		return fmt.Errorf("resp: max-request-size: must be at least max-value-size (%d), got %d", c.MaxValueSize, c.MaxRequestSize)
	case c.PipelineWindow < 1 || c.PipelineWindow > maxPipelineWindow:
		return fmt.Errorf("resp: pipeline-window: must be from 1 to %d, got %d", maxPipelineWindow, c.PipelineWindow)
	case c.IdleTimeout < 0:
		return fmt.Errorf("resp: client-idle-timeout: must not be negative, got %s", c.IdleTimeout)
	case c.AuthGrace < 0:
		return fmt.Errorf("resp: auth-grace: must not be negative, got %s", c.AuthGrace)
	}
	if err := c.validateMemory(); err != nil {
		return err
	}
	return c.TLS.validate(port)
}

// validateMemory checks the client memory limits.
func (c Config) validateMemory() error {
	switch {
	case c.OutputBufferHard != 0 && c.OutputBufferHard < c.MaxValueSize+outputSlack:
		return fmt.Errorf("resp: client-output-buffer-limit: hard limit must be 0 (none) or at least max-value-size + 64kb (%d): a reply of the largest value would close its client; got %d",
			c.MaxValueSize+outputSlack, c.OutputBufferHard)
	case c.OutputBufferSoft < 0:
		return fmt.Errorf("resp: client-output-buffer-limit: soft limit must not be negative, got %d", c.OutputBufferSoft)
	case c.OutputBufferSoftTime < 0 || c.OutputBufferSoftTime%time.Second != 0:
		return fmt.Errorf("resp: client-output-buffer-limit: soft seconds must be whole seconds, not negative, got %s", c.OutputBufferSoftTime)
	case c.MaxMemoryClients != 0 && c.MaxMemoryClients < c.MaxValueSize+outputSlack:
		return fmt.Errorf("resp: maxmemory-clients: must be 0 (none) or at least max-value-size + 64kb (%d), got %d",
			c.MaxValueSize+outputSlack, c.MaxMemoryClients)
	}
	return nil
}
