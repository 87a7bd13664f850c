package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
)

// passwordEnv holds the password of dynkv ring when --password is not
// given, as for redis-cli: a password on the command line shows in ps.
const passwordEnv = "REDISCLI_AUTH"

// ringTimeout bounds all of dynkv ring: connecting and both commands.
const ringTimeout = 10 * time.Second

func newRingCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ring",
		Short: "Show the ring's members as a node sees them",
		Long: `Show the ring's members as the node at --addr sees them, one line each:
its ID (* marks the node asked), its status (alive or down, as gossip sees
it), the addresses it serves clients and peers on, and the partitions it
owns. The last line gives the ring version (the stamp of the latest
membership change) and the number of partitions.

A node that requires a password takes it from --password or, so that it
does not show in ps, from the ` + passwordEnv + ` environment variable.`,
		Args: cobra.NoArgs,
	}
	addr := cmd.Flags().String("addr", "127.0.0.1:6379", "client address of a node, host:port")
	password := cmd.Flags().String("password", "", "password of the node (requirepass) (env "+passwordEnv+")")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if _, _, err := net.SplitHostPort(*addr); err != nil {
			return usageError{fmt.Errorf("addr: %q is not host:port", *addr)}
		}
		pw := *password
		if !cmd.Flags().Changed("password") {
			pw = os.Getenv(passwordEnv)
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), ringTimeout)
		defer cancel()
		v, err := fetchRing(ctx, *addr, pw)
		if err != nil {
			return err
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
}

// ringView is what dynkv ring prints: RING's members and INFO cluster's
// fields.
type ringView struct {
	members []ringMember
	info    map[string]string // INFO cluster, field → value
}

// fetchRing asks the node at addr for RING and INFO cluster.
func fetchRing(ctx context.Context, addr, password string) (ringView, error) {
	// Dial first: an unreachable node gets one clear error, and go-redis
	// does not retry and log the failure on its own.
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return ringView{}, ringError(addr, err)
	}
	var used atomic.Bool
	rdb := redis.NewClient(&redis.Options{
		Addr: addr, Password: password,
		Protocol: 2, DisableIdentity: true, // dynkv speaks RESP2; skip CLIENT SETINFO
		MaxRetries: -1, PoolSize: 1,
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if used.CompareAndSwap(false, true) {
				return nc, nil
			}
			return d.DialContext(ctx, network, addr)
		},
	})
	defer func() {
		_ = rdb.Close()
		if used.CompareAndSwap(false, true) {
			_ = nc.Close()
		}
	}()
	raw, err := rdb.Do(ctx, "RING").Slice()
	if err != nil {
		return ringView{}, ringError(addr, err)
	}
	members, err := parseRing(raw)
	if err != nil {
		return ringView{}, fmt.Errorf("ring: %s: %w", addr, err)
	}
	info, err := rdb.Info(ctx, "cluster").Result()
	if err != nil {
		return ringView{}, ringError(addr, err)
	}
	return ringView{members: members, info: parseInfo(info)}, nil
}

// ringError explains a failed request to addr.
func ringError(addr string, err error) error {
	switch {
	case redis.HasErrorPrefix(err, "NOAUTH"):
		return fmt.Errorf("ring: %s requires a password: give it with --password or %s", addr, passwordEnv)
	case redis.HasErrorPrefix(err, "WRONGPASS"):
		return fmt.Errorf("ring: %s refused the password", addr)
	case redis.HasErrorPrefix(err, "unknown command"):
		return fmt.Errorf("ring: %s does not know RING: is it a dynkv node?", addr)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("ring: %s did not answer within %s", addr, ringTimeout)
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return fmt.Errorf("ring: cannot reach a node at %s: %w", addr, err)
	}
	return fmt.Errorf("ring: %s: %w", addr, err)
}

// parseRing decodes a RING reply.
func parseRing(raw []any) ([]ringMember, error) {
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

// write prints v as a table and a summary line.
func (v ringView) write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSTATUS\tCLIENT\tPEER\tPARTITIONS")
	for _, m := range v.members {
		id := printable(m.id)
		if m.self {
			id += "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", id, printable(m.status), orDash(m.client), orDash(m.peer), m.partitions)
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
	_, err := fmt.Fprintln(w, line)
	return err
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
