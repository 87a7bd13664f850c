package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// leaveTimeout bounds dynkv leave; joinTimeout dynkv join, which waits for
// the node to reach a seed by gossip.
const (
	leaveTimeout = 10 * time.Second
	joinTimeout  = 60 * time.Second
)

func newLeaveCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "leave NODE",
		Short: "Remove a node from the ring",
		Long: `Remove the node NODE from the ring, through the node at --addr (any member,
NODE itself included), and print the plan: per node the partitions it owns
now and after the change, and the partitions it becomes or stops being a
replica of; then how many partitions change replicas (--verbose lists
them). With --dry-run nothing is changed.

The change is committed at once and spreads by gossip, but NODE keeps
serving its partitions until their new homes have received their data;
dynkv ring shows the transfer. Stop NODE once it no longer appears there.

` + passwordHelp,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("leave: want one node ID, got %d arguments", len(args))}
			}
			return nil
		},
	}
	var nf nodeFlags
	nf.register(cmd)
	dry := cmd.Flags().Bool("dry-run", false, "print the plan, change nothing")
	verbose := cmd.Flags().BoolP("verbose", "v", false, "list every partition that changes replicas")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		node := args[0]
		req := []string{"RING", "LEAVE", node}
		done := fmt.Sprintf("committed: %s is leaving; it keeps its partitions until their new homes have their data (see dynkv ring)", printable(node))
		if *dry {
			req = []string{"RING", "PLAN", "LEAVE", node}
			done = "dry run: nothing changed"
		}
		return runChange(cmd, "leave", &nf, leaveTimeout, req, *verbose, done)
	}
	return cmd
}

func newJoinCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "join SEED...",
		Short: "Make a node join a cluster",
		Long: `Make the node at --addr, alone in its one-node ring, join the cluster whose
nodes gossip at the SEED addresses (host:port, their gossip.listen), and
print the plan of its joining, as dynkv leave does.

The node takes the cluster's ring, adds itself to it and hands the data it
held to the cluster. It owns its partitions once it has received their
data; dynkv ring shows the transfer. A node that is already in a ring with
other members is refused. To start a new node in a cluster, give it seeds
instead (dynkv serve --seeds).

` + passwordHelp,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{fmt.Errorf("join: want the gossip address of at least one seed")}
			}
			for _, a := range args {
				if _, _, err := net.SplitHostPort(a); err != nil {
					return usageError{fmt.Errorf("join: seed %q is not host:port", a)}
				}
			}
			return nil
		},
	}
	var nf nodeFlags
	nf.register(cmd)
	verbose := cmd.Flags().BoolP("verbose", "v", false, "list every partition that changes replicas")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		done := fmt.Sprintf("committed: the node at %s joined; it owns its partitions once it has their data (see dynkv ring)", nf.addr)
		return runChange(cmd, "join", &nf, joinTimeout, append([]string{"RING", "JOIN"}, args...), *verbose, done)
	}
	return cmd
}

// runChange sends the membership command args to the node of nf and
// prints the plan it replies, then done.
func runChange(cmd *cobra.Command, verb string, nf *nodeFlags, timeout time.Duration, args []string, verbose bool, done string) error {
	pw, err := nf.resolve(cmd)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
	defer cancel()
	c, err := dialNode(ctx, verb, nf.addr, pw, timeout)
	if err != nil {
		return err
	}
	defer c.close()
	cargs := make([]any, len(args))
	for i, a := range args {
		cargs[i] = a
	}
	raw, err := c.do(ctx, cargs...)
	if err != nil {
		return err
	}
	pl, err := parsePlan(raw)
	if err != nil {
		return fmt.Errorf("%s: %s: %w", verb, nf.addr, err)
	}
	w := cmd.OutOrStdout()
	if err := pl.write(w, verbose); err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, done)
	return err
}

// planNode is one node's entry of a plan.
type planNode struct {
	id                          string
	before, after, gained, lost int64
}

// planMove is one partition whose replicas change.
type planMove struct {
	partition int64
	from, to  []string
}

// plan is a RING PLAN, LEAVE or JOIN reply.
type plan struct {
	nodes []planNode
	moves []planMove
}

// parsePlan decodes a plan reply: [nodes, moves], each node [id, before,
// after, gained, lost], each move [partition, [from...], [to...]].
// Entries may carry more fields than these.
func parsePlan(reply any) (plan, error) {
	top, ok := reply.([]any)
	if !ok || len(top) < 2 {
		return plan{}, fmt.Errorf("plan: want an array of [nodes, moves], got %T", reply)
	}
	nodes, ok1 := top[0].([]any)
	moves, ok2 := top[1].([]any)
	if !ok1 || !ok2 {
		return plan{}, fmt.Errorf("plan: want an array of [nodes, moves], got [%T, %T]", top[0], top[1])
	}
	var pl plan
	for i, e := range nodes {
		f, ok := e.([]any)
		var n planNode
		if !ok || len(f) < 5 || !ringStr(f[0], &n.id) || !ringInt(f[1], &n.before) || !ringInt(f[2], &n.after) ||
			!ringInt(f[3], &n.gained) || !ringInt(f[4], &n.lost) {
			return plan{}, fmt.Errorf("plan: node entry %d: want [id, before, after, gained, lost], got %v", i, e)
		}
		pl.nodes = append(pl.nodes, n)
	}
	for i, e := range moves {
		f, ok := e.([]any)
		var mv planMove
		if !ok || len(f) < 3 || !ringInt(f[0], &mv.partition) || !ringStrs(f[1], &mv.from) || !ringStrs(f[2], &mv.to) {
			return plan{}, fmt.Errorf("plan: move entry %d: want [partition, [from...], [to...]], got %v", i, e)
		}
		pl.moves = append(pl.moves, mv)
	}
	return pl, nil
}

func ringStrs(v any, dst *[]string) bool {
	a, ok := v.([]any)
	if !ok {
		return false
	}
	*dst = make([]string, len(a))
	for i, x := range a {
		if !ringStr(x, &(*dst)[i]) {
			return false
		}
	}
	return true
}

// write prints the plan: a table of nodes, the count of partitions that
// change replicas and, verbose, each of them.
func (pl plan) write(w io.Writer, verbose bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tPARTITIONS\tGAINED\tLOST")
	q := int64(0)
	for _, n := range pl.nodes {
		q += n.before
		fmt.Fprintf(tw, "%s\t%d -> %d\t%d\t%d\n", printable(n.id), n.before, n.after, n.gained, n.lost)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, "partitions changing replicas: %d of %d (GAINED, LOST: partitions a node becomes, stops being a replica of)\n",
		len(pl.moves), q); err != nil {
		return err
	}
	if !verbose || len(pl.moves) == 0 {
		return nil
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PARTITION\tBEFORE\tAFTER")
	for _, mv := range pl.moves {
		fmt.Fprintf(tw, "%d\t%s\t%s\n", mv.partition, printableList(mv.from), printableList(mv.to))
	}
	return tw.Flush()
}

func printableList(ids []string) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = printable(id)
	}
	return strings.Join(out, ",")
}
