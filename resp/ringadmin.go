package resp

import "github.com/dynkv/dynkv/admin"

// maxWeight bounds a node's weight in RING PLAN JOIN: the largest weight
// the gossiped ring state can carry.
const maxWeight = 1 << 20

// cmdRingPlan implements RING PLAN LEAVE <node> and RING PLAN JOIN <node>
// [weight]: the plan of the change (see writePlan), nothing committed.
func (s *Server) cmdRingPlan(c *session, args [][]byte) error {
	e := admin.Change{Node: string(args[3])}
	switch {
	case equalFold(args[2], "leave") && len(args) == 4:
	case equalFold(args[2], "join") && len(args) <= 5:
		e.Join, e.Weight = true, 1
		if len(args) == 5 {
			w, ok := parseInt(args[4])
			if !ok || w < 1 || w > maxWeight {
				return errWeight
			}
			e.Weight = int(w)
		}
	default:
		return errSyntax
	}
	if s.admin == nil {
		return errNoCluster
	}
	pl, err := s.admin.Plan(e)
	if err != nil {
		return &changeError{err}
	}
	writePlan(c.w, pl)
	return nil
}

// cmdRingLeave implements RING LEAVE <node>: it commits the node's
// departure and replies with the plan. The node keeps serving its
// partitions until their new homes have received their data.
func (s *Server) cmdRingLeave(c *session, args [][]byte) error {
	if s.admin == nil {
		return errNoCluster
	}
	pl, err := s.admin.Leave(string(args[2]))
	if err != nil {
		return &changeError{err}
	}
	s.log.Info("ring leave committed", "node", string(args[2]), "client", c.id, "partitions_moving", len(pl.Moves))
	writePlan(c.w, pl)
	return nil
}

// cmdRingForget implements RING FORGET <node>: a node that left the ring
// and will not come back is declared drained, so that tombstones are
// collected again. What it still held is lost to the cluster.
func (s *Server) cmdRingForget(c *session, args [][]byte) error {
	if s.admin == nil {
		return errNoCluster
	}
	if err := s.admin.Forget(string(args[2])); err != nil {
		return &changeError{err}
	}
	s.log.Warn("ring forget committed", "node", string(args[2]), "client", c.id)
	c.w.status("OK")
	return nil
}

// cmdRingJoin implements RING JOIN <seed> [seed ...]: this node, alone in
// its one-node ring, joins the cluster reachable at the gossip addresses
// given, and replies with the plan of its joining. It blocks until a seed
// answered or all failed.
func (s *Server) cmdRingJoin(c *session, args [][]byte) error {
	if s.admin == nil {
		return errNoCluster
	}
	seeds := make([]string, 0, len(args)-2)
	for _, a := range args[2:] {
		seeds = append(seeds, string(a))
	}
	pl, err := s.admin.Join(seeds)
	if err != nil {
		return &changeError{err}
	}
	s.log.Info("ring join committed", "seeds", len(seeds), "client", c.id, "partitions_moving", len(pl.Moves))
	writePlan(c.w, pl)
	return nil
}

// writePlan writes pl as a two-element array [nodes, moves]:
//
//   - nodes: one entry per node of the ring before or after the change,
//     sorted by ID, each [node, partitions claimed before, partitions
//     claimed after, partitions it becomes a replica of, partitions it
//     stops being a replica of];
//   - moves: one entry per partition whose replicas change, by partition,
//     each [partition, [replicas before...], [replicas after...]], the
//     replicas in preference order.
func writePlan(w *writer, pl admin.Plan) {
	w.array(2)
	w.array(len(pl.Nodes))
	for _, n := range pl.Nodes {
		w.array(5)
		w.bulkString(n.ID)
		w.integer(int64(n.Before))
		w.integer(int64(n.After))
		w.integer(int64(n.Gained))
		w.integer(int64(n.Lost))
	}
	w.array(len(pl.Moves))
	for _, mv := range pl.Moves {
		w.array(3)
		w.integer(int64(mv.Partition))
		writeStrings(w, mv.From)
		writeStrings(w, mv.To)
	}
}

func writeStrings(w *writer, ss []string) {
	w.array(len(ss))
	for _, s := range ss {
		w.bulkString(s)
	}
}
