package conf

import (
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/dynkv/dynkv/admission"
	"github.com/dynkv/dynkv/antientropy"
	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/peer"
	"github.com/dynkv/dynkv/replica"
	"github.com/dynkv/dynkv/resp"
	"github.com/dynkv/dynkv/ring"
	"github.com/dynkv/dynkv/version"
)

// Config is the whole configuration of one node.
type Config struct {
	// Node identifies this node.
	Node NodeConfig
	// Log configures the node's logger.
	Log LogConfig
	// ShutdownTimeout bounds a graceful shutdown: how long in-flight
	// requests may take to finish after SIGINT or SIGTERM before their
	// connections are closed. Key shutdown-timeout. Default 10s.
	ShutdownTimeout time.Duration
	// Replica configures the local store (keys data.dir, durability,
	// cache-size).
	Replica replica.Config
	// Coordinator configures reads and writes over replicas (keys n, r, w,
	// timeout, max-siblings-size). A MaxSiblingsSize of 0 is derived from
	// max-value-size: see MaxSiblingsSize.
	Coordinator coordinator.Config
	// Resp configures the client front end (keys listen, requirepass,
	// maxclients, client-idle-timeout, auth-grace, protected-mode, the
	// tls-* keys, pipeline-window, max-value-size, max-key-size,
	// max-request-size, client-output-buffer-limit, maxmemory-clients).
	Resp resp.Config
	// Peer configures the peer transport (keys peer.listen, cluster.secret,
	// peer.receive-buffer, peer.max-connections, peer.max-handshakes).
	// An empty Peer.Listen means the client port + 10000 on the client
	// host (port 0 stays 0), as Redis Cluster's bus; see PeerListen. The
	// frame limit is derived, and a ReceiveBuffer of 0 too: see
	// PeerConfig.
	Peer peer.Config
	// Gossip configures membership (keys gossip.listen, seeds,
	// cluster.secret, weight, partitions). NodeID, ClientAddr and PeerAddr
	// are filled in at start.
	Gossip ring.GossipConfig
	// HandoffInterval is how often hints are offered to nodes that are
	// alive again. Key handoff-interval. Default 500ms.
	HandoffInterval time.Duration
	// AntiEntropy configures Merkle-tree anti-entropy and tombstone
	// collection (keys antientropy.interval, antientropy.rate,
	// antientropy.tombstone-grace). N is Coordinator.N, filled in at start;
	// the coordinator's hint replay is paced to Rate too.
	AntiEntropy antientropy.Config
	// Admission configures the admission controller that slows a node's
	// background work (anti-entropy, transfers, tombstone collection, hint
	// replay; each at most antientropy.rate per second) while its
	// foreground requests are slow (key antientropy.latency-target).
	Admission admission.Config
	// PprofListen, when not empty, is the address (host:port) of an HTTP
	// listener serving Go's profiles (net/http/pprof), for measuring where
	// time goes. Key pprof.listen. Default empty: none. It has no
	// authentication: bind it to loopback.
	PprofListen string
}

// PeerListen returns the peer address: Peer.Listen, or the client host
// with the client port + 10000 (0 if the client port is 0).
func (c Config) PeerListen() string {
	if c.Peer.Listen != "" {
		return c.Peer.Listen
	}
	host, port, err := net.SplitHostPort(c.Resp.Listen)
	if err != nil {
		return ""
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p+10000 > 65535 {
		return ""
	}
	if p != 0 {
		p += 10000
	}
	return net.JoinHostPort(host, strconv.Itoa(p))
}

// NodeConfig identifies a node.
type NodeConfig struct {
	// ID names the node in logs and, with the cluster, in the ring. 1 to
	// 64 characters out of A-Z a-z 0-9 . _ -. Key node.id. Default: the
	// host name, lower-cased with other characters turned into '-' and cut
	// to 64 characters, or "dynkv-1" when the host name is unknown. Nodes
	// sharing a host must be given distinct ids.
	ID string
}

// LogConfig configures logging.
type LogConfig struct {
	// Level is the lowest level logged. Key log.level: debug, info, warn
	// or error. Default info.
	Level slog.Level
	// Format is "text" (logfmt-style key=value) or "json". Key log.format.
	// Default "text".
	Format string
}

// Log formats.
const (
	LogText = "text"
	LogJSON = "json"
)

// fallbackNodeID is the node id used when the host name is unknown.
const fallbackNodeID = "dynkv-1"

const maxNodeIDLen = 64

// DefaultConfig returns the defaults documented on Config and on the nested
// package configs. The default node id depends on the host name.
func DefaultConfig() Config {
	return Config{
		Node:            NodeConfig{ID: defaultNodeID()},
		Log:             LogConfig{Level: slog.LevelInfo, Format: LogText},
		ShutdownTimeout: 10 * time.Second,
		Replica:         replica.DefaultConfig(),
		Coordinator:     coordinator.DefaultConfig(),
		Resp:            resp.DefaultConfig(),
		Peer:            peerDefaults(),
		Gossip:          ring.DefaultGossipConfig(),
		HandoffInterval: 500 * time.Millisecond,
		AntiEntropy:     antientropy.DefaultConfig(),
		Admission:       admission.DefaultConfig(),
	}
}

func peerDefaults() peer.Config {
	p := peer.DefaultConfig()
	p.Listen = ""       // derived from the client address
	p.MaxFrame = 0      // derived from the client limits
	p.ReceiveBuffer = 0 // derived from the frame limit
	return p
}

// MaxSiblingsSize returns the bound on the record of a key's siblings
// that writes respect (coordinator.Config.MaxSiblingsSize): the key
// max-siblings-size, or when it is 0, room for two siblings of
// max-value-size with the largest versions a record holds. Two is what
// two concurrent writes of the largest value leave when they meet.
func (c Config) MaxSiblingsSize() int64 {
	if c.Coordinator.MaxSiblingsSize > 0 {
		return c.Coordinator.MaxSiblingsSize
	}
	return version.RecordOverhead + 2*(c.Resp.MaxValueSize+version.MaxSiblingOverhead)
}

// PeerConfig returns the peer transport's configuration: Peer, with
// Listen from PeerListen, the frame limit derived from the client limits,
// and ReceiveBuffer, when 0, twice what a frame of that limit takes.
//
// The frame limit is what the largest message carries: a record of
// MaxSiblingsSize (OpMerge, OpHint, OpCollect, the reply to OpGet and to
// a forwarded write), under a key of max-key-size, with the message's own
// bytes (peer.MaxMessageOverhead). A forwarded write carries a value of
// at most max-value-size and a context, less than a record of one such
// sibling. So every record a write may leave, and every write the front
// end accepts, fits a frame: see docs/design.md for what may not.
func (c Config) PeerConfig() peer.Config {
	p := c.Peer
	p.Listen = c.PeerListen()
	p.MaxFrame = int(min(c.MaxSiblingsSize()+c.Resp.MaxKeySize+peer.MaxMessageOverhead, math.MaxUint32+1))
	if p.ReceiveBuffer == 0 {
		p.ReceiveBuffer = 2 * p.MinReceiveBuffer()
	}
	return p
}

// defaultNodeID derives a node id from the host name.
func defaultNodeID() string {
	h, err := os.Hostname()
	if err != nil {
		return fallbackNodeID
	}
	if id := sanitizeNodeID(h); id != "" {
		return id
	}
	return fallbackNodeID
}

// sanitizeNodeID lower-cases s, turns characters not allowed in a node id
// into '-' and cuts it to the maximum length.
func sanitizeNodeID(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	b := []byte(s)
	for i, c := range b {
		if !nodeIDChar(c) {
			b[i] = '-'
		}
	}
	if len(b) > maxNodeIDLen {
		b = b[:maxNodeIDLen]
	}
	return string(b)
}

func nodeIDChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

// Validate reports the first invalid field, naming its key.
func (c Config) Validate() error {
	if err := validateNodeID(c.Node.ID); err != nil {
		return err
	}
	if c.Log.Format != LogText && c.Log.Format != LogJSON {
		return fmt.Errorf("log.format: %q is not one of text, json", c.Log.Format)
	}
	if c.ShutdownTimeout <= 0 {
		return fmt.Errorf("shutdown-timeout: must be positive, got %s", c.ShutdownTimeout)
	}
	if err := c.Replica.Validate(); err != nil {
		return err
	}
	if c.Replica.Storage == replica.StorageMemory && c.Coordinator.DW > 0 {
		return fmt.Errorf("dw: %d cannot hold with storage memory, which keeps no data on disk: set dw 0", c.Coordinator.DW)
	}
	if err := c.Coordinator.Validate(); err != nil {
		return err
	}
	if err := c.Resp.Validate(); err != nil {
		return err
	}
	if one := version.RecordOverhead + version.MaxSiblingOverhead + c.Resp.MaxValueSize; c.MaxSiblingsSize() < one {
		return fmt.Errorf("max-siblings-size: must be at least a record of one value of max-value-size (%d bytes), got %d", one, c.MaxSiblingsSize())
	}
	peer := c.PeerConfig()
	if peer.Listen == "" {
		return fmt.Errorf("peer.listen: no default from listen %q (port + 10000 must be a port): set it", c.Resp.Listen)
	}
	if err := peer.Validate(); err != nil {
		if peer.MaxFrame > math.MaxUint32 {
			return fmt.Errorf("max-siblings-size: the peer frame limit derived from it, max-key-size and max-value-size exceeds 4 GiB: lower them")
		}
		return err
	}
	g := c.Gossip
	g.NodeID = c.Node.ID
	if err := g.Validate(); err != nil {
		return err
	}
	if c.HandoffInterval <= 0 {
		return fmt.Errorf("handoff-interval: must be positive, got %s", c.HandoffInterval)
	}
	ae := c.AntiEntropy
	ae.N = c.Coordinator.N
	if err := ae.Validate(); err != nil {
		return err
	}
	if ae.TombstoneGrace < c.Coordinator.Timeout {
		return fmt.Errorf("antientropy.tombstone-grace: must be at least timeout (%s), got %s", c.Coordinator.Timeout, ae.TombstoneGrace)
	}
	return c.Admission.Validate()
}

func validateNodeID(id string) error {
	if id == "" {
		return fmt.Errorf("node.id: must not be empty")
	}
	if len(id) > maxNodeIDLen {
		return fmt.Errorf("node.id: must be at most %d characters, got %d", maxNodeIDLen, len(id))
	}
	for i := 0; i < len(id); i++ {
		if !nodeIDChar(id[i]) {
			return fmt.Errorf("node.id: %q holds %q; use only A-Z a-z 0-9 . _ -", id, id[i])
		}
	}
	return nil
}
