package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// ringTimeout bounds all of dynkv ring: connecting and the commands to the
// node asked.
const ringTimeout = 10 * time.Second

// progressTimeout bounds asking the members for their transfer progress:
// a member that does not answer in time shows "-".
const progressTimeout = 2 * time.Second

func newRingCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ring",
		Short: "Show the ring's members as a node sees them",
		Long: `Show the ring's members as the node at --addr sees them, one line each:
its ID (* marks the node asked), its status (alive or down, as gossip sees
it), the addresses it serves clients and peers on, the partitions it owns,
the partitions it will own once the transfer under way completes (TARGET),
its part in that transfer (STATE: member, joining or leaving) and whether
it has received the data it gains (READY). The last line gives the ring
version (the stamp of the latest membership change) and the number of
partitions.

While a transfer is under way, one more line per member that gains data
shows its progress, as the member itself reports it: partitions received
of those it gains, and keys per second; "-" when it does not answer.

` + passwordHelp,
		Args: cobra.NoArgs,
	}
	var nf nodeFlags
	nf.register(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		pw, err := nf.resolve(cmd)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), ringTimeout)
		defer cancel()
		v, err := fetchRing(ctx, nf.addr, pw)
		if err != nil {
			return err
		}
		if v.info["ring_transfer_pending"] == "1" {
			v.progress = fetchProgress(ctx, v.members, pw)
		}
		return v.write(cmd.OutOrStdout())
	}
	return cmd
}

// ringMember is one entry of a RING reply.
type ringMember struct {
	id, status   string
	client, peer string // empty when not gossiped yet
	partitions   int64
	self         bool
	// The fields of newer nodes; extended is false for a node that
	// sends only the first six.
	extended bool
	target   int64
	state    string // member, joining, leaving
	ready    bool
}

// ringView is what dynkv ring prints: RING's members and INFO cluster's
// fields, and the transfer progress of the members that report one.
type ringView struct {
	members  []ringMember
	info     map[string]string            // INFO cluster, field → value
	progress map[string]map[string]string // member ID → its INFO antientropy; nil for one that did not answer
}

// fetchRing asks the node at addr for RING and INFO cluster.
func fetchRing(ctx context.Context, addr, password string) (ringView, error) {
	c, err := dialNode(ctx, "ring", addr, password, ringTimeout)
	if err != nil {
		return ringView{}, err
	}
	defer c.close()
	raw, err := c.do(ctx, "RING")
	if err != nil {
		return ringView{}, err
	}
	members, err := parseRing(raw)
	if err != nil {
		return ringView{}, fmt.Errorf("ring: %s: %w", addr, err)
	}
	info, err := c.info(ctx, "cluster")
	if err != nil {
		return ringView{}, err
	}
	return ringView{members: members, info: info}, nil
}

// fetchProgress asks every member with a client address for its INFO
// antientropy, all at once, each within progressTimeout (or ctx). A member
// that does not answer maps to nil.
func fetchProgress(ctx context.Context, members []ringMember, password string) map[string]map[string]string {
	ctx, cancel := context.WithTimeout(ctx, progressTimeout)
	defer cancel()
	type answer struct {
		id   string
		info map[string]string
	}
	answers := make(chan answer, len(members))
	asked := 0
	for _, m := range members {
		if m.client == "" {
			continue
		}
		asked++
		go func() {
			var info map[string]string
			if c, err := dialNode(ctx, "ring", m.client, password, progressTimeout); err == nil {
				info, _ = c.info(ctx, "antientropy")
				c.close()
			}
			answers <- answer{m.id, info}
		}()
	}
	out := make(map[string]map[string]string, asked)
	for range asked {
		a := <-answers
		out[a.id] = a.info
	}
	return out
}

// parseRing decodes a RING reply: entries of at least 6 fields, the
// first 9 known.
func parseRing(reply any) ([]ringMember, error) {
	raw, ok := reply.([]any)
	if !ok {
		return nil, fmt.Errorf("RING: want an array, got %T", reply)
	}
	out := make([]ringMember, 0, len(raw))
	for i, e := range raw {
		f, ok := e.([]any)
		if !ok || len(f) < 6 {
			return nil, fmt.Errorf("RING entry %d: want an array of at least 6, got %T", i, e)
		}
		var m ringMember
		var self int64
		ok = ringStr(f[0], &m.id) && ringStr(f[1], &m.status) && ringStr(f[2], &m.client) && ringStr(f[3], &m.peer) &&
			ringInt(f[4], &m.partitions) && ringInt(f[5], &self)
		if !ok {
			return nil, fmt.Errorf("RING entry %d: unexpected field types %v", i, f)
		}
		m.self = self == 1
		if len(f) >= 9 {
			var ready int64
			if !ringInt(f[6], &m.target) || !ringStr(f[7], &m.state) || !ringInt(f[8], &ready) {
				return nil, fmt.Errorf("RING entry %d: unexpected field types %v", i, f)
			}
			m.extended, m.ready = true, ready == 1
		}
		out = append(out, m)
	}
	return out, nil
}

func ringStr(v any, dst *string) bool {
	s, ok := v.(string)
	*dst = s
	return ok
}

func ringInt(v any, dst *int64) bool {
	n, ok := v.(int64)
	*dst = n
	return ok
}

// parseInfo returns the key:value fields of an INFO reply.
func parseInfo(s string) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, "#") {
			m[k] = v
		}
	}
	return m
}

// write prints v as a table, a summary line and, while a transfer is under
// way, the progress of the members that gain data.
func (v ringView) write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSTATUS\tCLIENT\tPEER\tPARTITIONS\tTARGET\tSTATE\tREADY")
	for _, m := range v.members {
		id := printable(m.id)
		if m.self {
			id += "*"
		}
		target, state, ready := "-", "-", "-"
		if m.extended {
			target, state, ready = strconv.FormatInt(m.target, 10), printable(m.state), "no"
			if m.ready {
				ready = "yes"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", id, printable(m.status), orDash(m.client), orDash(m.peer), m.partitions,
			target, state, ready)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	alive := 0
	for _, m := range v.members {
		if m.status == "alive" {
			alive++
		}
	}
	line := fmt.Sprintf("ring version: %s  partitions: %s  members: %d (%d alive)",
		orDash(v.info["ring_version"]), orDash(v.info["partitions"]), len(v.members), alive)
	if v.info["dynkv_cluster"] != "1" {
		line += "  cluster: off (one node)"
	}
	if v.info["ring_transfer_pending"] == "1" {
		line += "  transfer: pending"
	}
	if _, err := fmt.Fprintln(w, line); err != nil {
		return err
	}
	for _, p := range v.progressLines() {
		if _, err := fmt.Fprintln(w, p); err != nil {
			return err
		}
	}
	return nil
}

// progressLines returns one line per member that gains data in the
// transfer under way: each not ready, and each that reports partitions to
// receive. A member that could not be asked or did not answer shows "-".
func (v ringView) progressLines() []string {
	if v.progress == nil {
		return nil
	}
	var out []string
	for _, m := range v.members {
		info := v.progress[m.id] // nil: not asked (no client address) or no answer
		total := info["transfer_partitions_total"]
		switch {
		case info == nil && m.extended && !m.ready:
			out = append(out, fmt.Sprintf("transfer to %s: -", printable(m.id)))
		case info != nil && (total != "0" && total != "" || m.extended && !m.ready):
			out = append(out, fmt.Sprintf("transfer to %s: partitions %s/%s, %s keys/s", printable(m.id),
				orDash(info["transfer_partitions_done"]), orDash(total), orDash(info["transfer_keys_per_sec"])))
		}
	}
	return out
}

// printable quotes s when it holds characters that would garble the
// table (a node ID is whatever the node was configured with).
func printable(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return !strconv.IsGraphic(r) || r == ' ' }) >= 0 {
		return strconv.Quote(s)
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return printable(s)
}
