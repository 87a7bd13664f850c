package jepsen

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"time"
)

// Partitions run in a network namespace of their own, where the nodes
// bind 127.0.0.2, 127.0.0.3, ... on the loopback device and dial each
// other from those addresses (dynkv binds its outgoing peer and gossip
// connections to its listen IP). A partition is a set of nftables rules in
// that namespace dropping packets from one node's address to another's;
// the harness's clients connect from 127.0.0.1, which no rule names, so
// they reach every node as Jepsen's clients do.

// NetnsEnv is set in the environment of a harness that runs inside the
// namespace it created: the re-executed `dynkv chaos` reads it.
const NetnsEnv = "DYNKV_CHAOS_NETNS"

// nftTable is the nftables table of the partition rules.
const nftTable = "dynkv_chaos"

// cut is one direction of blocked traffic: from's packets to to are dropped.
type cut struct{ from, to string }

// rules renders the nftables script that blocks cuts (by node address) and
// nothing else, replacing whatever rules the table had.
func rules(cuts []cut) string {
	var b strings.Builder
	fmt.Fprintf(&b, "table ip %s\ndelete table ip %s\n", nftTable, nftTable)
	// The input hook: a dropped packet vanishes silently, as on a real
	// network (dropped on output, a UDP sender would get EPERM at once).
	fmt.Fprintf(&b, "table ip %s {\n\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n", nftTable)
	for _, c := range cuts {
		fmt.Fprintf(&b, "\t\tip saddr %s ip daddr %s drop\n", c.from, c.to)
	}
	b.WriteString("\t}\n}\n")
	return b.String()
}

// firewall applies partitions with nft in the current network namespace.
type firewall struct{ nft string }

// newFirewall returns a firewall, or an error that says why partitions
// cannot run here. netns says whether the run is in its own namespace with
// a 127.0.0.x address per node.
func newFirewall(netns bool) (*firewall, error) {
	if !netns {
		return nil, fmt.Errorf("jepsen: partitions need the harness's own network namespace (run as root)")
	}
	nft, err := exec.LookPath("nft")
	if err != nil {
		return nil, fmt.Errorf("jepsen: partitions need nft (apt-get install nftables): %w", err)
	}
	fw := &firewall{nft: nft}
	return fw, fw.apply(nil)
}

// apply replaces the rules with cuts.
func (fw *firewall) apply(cuts []cut) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, fw.nft, "-f", "-")
	cmd.Stdin = strings.NewReader(rules(cuts))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("jepsen: nft: %w: %s", err, bytes.TrimSpace(out.Bytes()))
	}
	return nil
}

// verify checks that cuts took effect: a connection from each cut's
// source address to its destination's peer port does not get through
// (tried for a sample of the cuts), and after healing (no cuts) that
// every node reaches every other.
func (fw *firewall) verify(ctx context.Context, nodes []*node, cuts []cut) error {
	byIP := map[string]*node{}
	for _, nd := range nodes {
		byIP[nd.ip] = nd
	}
	reach := func(from, to string) bool {
		d := net.Dialer{Timeout: 300 * time.Millisecond, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		c, err := d.DialContext(ctx, "tcp", byIP[to].peer)
		if err != nil {
			return false
		}
		_ = c.Close()
		return true
	}
	if len(cuts) == 0 {
		for _, a := range nodes {
			for _, b := range nodes {
				if a != b && !reach(a.ip, b.ip) {
					return fmt.Errorf("jepsen: healed, but %s cannot reach %s", a.ip, b.ip)
				}
			}
		}
		return nil
	}
	for i, c := range cuts {
		if i%3 != 0 {
			continue // a sample is enough: the rules come from one loop
		}
		if reach(c.from, c.to) {
			return fmt.Errorf("jepsen: partition rules did not take: %s still reaches %s", c.from, c.to)
		}
	}
	return nil
}

// partition returns the cuts that separate every node of a from every node
// of b, both ways.
func partition(a, b []*node) []cut {
	var cuts []cut
	for _, x := range a {
		for _, y := range b {
			cuts = append(cuts, cut{x.ip, y.ip}, cut{y.ip, x.ip})
		}
	}
	return cuts
}

// oneWay returns the cuts that drop what the nodes of from send to the
// nodes of to (replies included: TCP to them stalls, UDP from them still
// arrives).
func oneWay(from, to []*node) []cut {
	var cuts []cut
	for _, x := range from {
		for _, y := range to {
			cuts = append(cuts, cut{x.ip, y.ip})
		}
	}
	return cuts
}
