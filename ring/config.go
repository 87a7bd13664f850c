package ring

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"
)

// GossipConfig configures a node's membership.
type GossipConfig struct {
	// NodeID names this node; unique in the cluster. Required.
	NodeID string
	// Listen is the gossip address, host:port. Default "127.0.0.1:7946".
	Listen string
	// Seeds are gossip addresses of nodes to join through. Empty: a new
	// one-node cluster (or, with a saved state, the cluster it knew).
	Seeds []string
	// Secret, when set, encrypts and authenticates gossip (AES-GCM with a
	// key derived from it). Every node must share it. Default empty.
	Secret string
	// AcceptedSecret, during a rotation of the cluster secret, is a second
	// secret: gossip sealed with it is accepted too (memberlist's keyring),
	// while this node seals with Secret. Empty outside a rotation.
	AcceptedSecret string
	// Weight is this node's share of partitions relative to others. Default 1.
	Weight int
	// Partitions is Q for a new cluster; every node must agree.
	// Default DefaultPartitions.
	Partitions int
	// Replicas is N, the replicas of each partition: it decides which
	// nodes gain data in a change, and so when ownership flips (see
	// State.Active). Every node must agree. Default 3.
	Replicas int
	// ClientAddr and PeerAddr are gossiped so others can reach this node.
	ClientAddr, PeerAddr string
	// RejoinInterval is how often the node re-joins its seeds, so that a
	// partition longer than memberlist's dead-node timeout heals. Default 30s.
	RejoinInterval time.Duration
	// Local selects memberlist's fast loopback profile (tests and dev).
	Local bool
	// Logger receives membership logs; nil discards them.
	Logger *slog.Logger
}

// DefaultGossipConfig returns the defaults documented on GossipConfig.
func DefaultGossipConfig() GossipConfig {
	return GossipConfig{Listen: "127.0.0.1:7946", Weight: 1, Partitions: DefaultPartitions, Replicas: 3, RejoinInterval: 30 * time.Second}
}

// Validate reports the first invalid field.
func (c GossipConfig) Validate() error {
	if c.NodeID == "" {
		return fmt.Errorf("ring: node.id: must not be empty")
	}
	if _, _, err := splitHostPort(c.Listen); err != nil {
		return fmt.Errorf("ring: gossip.listen: %w", err)
	}
	for _, s := range c.Seeds {
		if _, _, err := splitHostPort(s); err != nil {
			return fmt.Errorf("ring: seeds: %w", err)
		}
	}
	if c.Weight < 1 {
		return fmt.Errorf("ring: weight: must be at least 1, got %d", c.Weight)
	}
	if c.Partitions < 1 || c.Partitions > Slots || c.Partitions&(c.Partitions-1) != 0 {
		return fmt.Errorf("ring: partitions: %d is not a power of two between 1 and %d", c.Partitions, Slots)
	}
	if c.Replicas < 1 {
		return fmt.Errorf("ring: n: must be at least 1, got %d", c.Replicas)
	}
	if c.RejoinInterval <= 0 {
		return fmt.Errorf("ring: rejoin interval: must be positive")
	}
	return nil
}

func splitHostPort(addr string) (string, int, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%q is not host:port", addr)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("%q: bad port", addr)
	}
	return h, port, nil
}
