package resp

import (
	"context"
	"log/slog"
	"slices"
	"sync"
)

// Pub/Sub: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, SSUBSCRIBE,
// SUNSUBSCRIBE, PUBLISH, SPUBLISH and PUBSUB, with Redis 7's replies in
// RESP2 (arrays; a subscribed RESP2 client may only run the subscription
// commands, PING and QUIT) and RESP3 (push messages, any command).
//
// A message published on any node reaches the subscribers of every node,
// as in Redis Cluster: the node delivers it to its own subscribers and the
// Bus (node's, over the peer transport) to every other node that is up,
// waiting for their answers before PUBLISH replies. So the messages of one
// publishing connection reach each subscriber in the order published, at
// most once: a node that is down or does not answer in time misses the
// message, nothing is retried. Shard channels (SSUBSCRIBE, SPUBLISH) are a
// namespace of their own, published cluster-wide the same way. PUBLISH
// replies with the receivers on every node that answered; PUBSUB reports
// this node's subscriptions only, as Redis Cluster's does.
//
// Delivery never blocks a publisher: each subscribed connection has a
// queue of messages, sent by a goroutine of its own between the
// connection's replies (conn.out), never inside one. A queue past
// maxPushBytes (Redis's pubsub client-output-buffer-limit, 32 MiB) closes
// its client, logged, as Redis does with a slow subscriber.

// maxPushBytes bounds the messages waiting for one subscriber.
const maxPushBytes = 32 << 20

// errSubscribedContext is Redis 7's refusal of other commands in RESP2's
// subscribed state; %s is the command's name.
const errSubscribedContext = "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"

// Bus carries published messages to the other nodes. node.Node implements
// it over the peer transport.
type Bus interface {
	// Publish sends the message to every other node that is up and
	// returns how many of their clients received it, counting the nodes
	// that answered before ctx ended.
	Publish(ctx context.Context, shard bool, channel, message []byte) int64
}

// SetBus gives the server the other nodes' subscribers. A server without
// one delivers to its own subscribers only.
//
// REQUIRES: called before Serve, as SetAdmin.
func (s *Server) SetBus(b Bus) { s.bus = b }

// broker holds every subscription of the server's clients.
type broker struct {
	mu       sync.Mutex
	channels map[string]map[*session]struct{}
	shards   map[string]map[*session]struct{}
	patterns map[string]map[*session]struct{}
}

func newBroker() *broker {
	return &broker{channels: map[string]map[*session]struct{}{}, shards: map[string]map[*session]struct{}{},
		patterns: map[string]map[*session]struct{}{}}
}

// subscriptions are one client's, owned by the goroutine that runs its
// commands; the broker has the same, under its lock.
type subscriptions struct {
	channels, shards, patterns []string // in subscription order
	push                       *pushQueue
}

// count is what SUBSCRIBE and PSUBSCRIBE report: channels and patterns.
func (s *subscriptions) count() int { return len(s.channels) + len(s.patterns) }

// any reports whether the client is subscribed to anything.
func (s *subscriptions) any() bool { return s.count()+len(s.shards) > 0 }

// pushQueue is the messages waiting to be sent to one subscriber.
type pushQueue struct {
	mu     sync.Mutex
	q      [][]byte
	bytes  int64
	closed bool
	wake   chan struct{} // a message is waiting (capacity 1)
	done   chan struct{} // closed when the connection ends
}

// kind names a subscription's namespace: its set in the broker and in the
// session, its reply words.
type kind struct {
	sub, unsub string
	of         func(*subscriptions) *[]string
	in         func(*broker) map[string]map[*session]struct{}
}

var (
	kindChannel = kind{"subscribe", "unsubscribe", func(s *subscriptions) *[]string { return &s.channels },
		func(b *broker) map[string]map[*session]struct{} { return b.channels }}
	kindPattern = kind{"psubscribe", "punsubscribe", func(s *subscriptions) *[]string { return &s.patterns },
		func(b *broker) map[string]map[*session]struct{} { return b.patterns }}
	kindShard = kind{"ssubscribe", "sunsubscribe", func(s *subscriptions) *[]string { return &s.shards },
		func(b *broker) map[string]map[*session]struct{} { return b.shards }}
)

// reported is the count a (un)subscription reply carries.
func (k kind) reported(s *subscriptions) int {
	if k.sub == "ssubscribe" {
		return len(s.shards)
	}
	return s.count()
}

func (s *Server) cmdSubscribe(c *session, args [][]byte) error {
	return s.subscribe(c, kindChannel, args[1:])
}
func (s *Server) cmdPSubscribe(c *session, args [][]byte) error {
	return s.subscribe(c, kindPattern, args[1:])
}
func (s *Server) cmdSSubscribe(c *session, args [][]byte) error {
	return s.subscribe(c, kindShard, args[1:])
}
func (s *Server) cmdUnsubscribe(c *session, args [][]byte) error {
	return s.unsubscribe(c, kindChannel, args[1:])
}
func (s *Server) cmdPUnsubscribe(c *session, args [][]byte) error {
	return s.unsubscribe(c, kindPattern, args[1:])
}
func (s *Server) cmdSUnsubscribe(c *session, args [][]byte) error {
	return s.unsubscribe(c, kindShard, args[1:])
}

func (s *Server) subscribe(c *session, k kind, names [][]byte) error {
	if c.startPush == nil {
		return replyErr("ERR Pub/Sub needs a network connection")
	}
	if c.subs.push == nil {
		c.subs.push = &pushQueue{wake: make(chan struct{}, 1), done: make(chan struct{})}
		c.pushQueue.Store(c.subs.push)
		c.startPush(c.subs.push)
	}
	set := k.of(&c.subs)
	for _, n := range names {
		name := string(n)
		if !slices.Contains(*set, name) {
			*set = append(*set, name)
			s.ps.mu.Lock()
			m := k.in(s.ps)
			if m[name] == nil {
				m[name] = map[*session]struct{}{}
			}
			m[name][c] = struct{}{}
			s.ps.mu.Unlock()
		}
		c.w.pushLen(3)
		c.w.bulkString(k.sub)
		c.w.bulk(n)
		c.w.integer(int64(k.reported(&c.subs)))
	}
	return nil
}

func (s *Server) unsubscribe(c *session, k kind, names [][]byte) error {
	set := k.of(&c.subs)
	if len(names) == 0 {
		if len(*set) == 0 {
			c.w.pushLen(3)
			c.w.bulkString(k.unsub)
			c.w.null()
			c.w.integer(int64(k.reported(&c.subs)))
			return nil
		}
		for _, name := range slices.Clone(*set) {
			names = append(names, []byte(name))
		}
	}
	for _, n := range names {
		name := string(n)
		if i := slices.Index(*set, name); i >= 0 {
			*set = slices.Delete(*set, i, i+1)
			s.ps.mu.Lock()
			m := k.in(s.ps)
			delete(m[name], c)
			if len(m[name]) == 0 {
				delete(m, name)
			}
			s.ps.mu.Unlock()
		}
		c.w.pushLen(3)
		c.w.bulkString(k.unsub)
		c.w.bulk(n)
		c.w.integer(int64(k.reported(&c.subs)))
	}
	return nil
}

// dropSubscriptions forgets every subscription of a client that ends.
func (s *Server) dropSubscriptions(c *session) {
	s.ps.mu.Lock()
	defer s.ps.mu.Unlock()
	for _, k := range []kind{kindChannel, kindPattern, kindShard} {
		m := k.in(s.ps)
		for _, name := range *k.of(&c.subs) {
			delete(m[name], c)
			if len(m[name]) == 0 {
				delete(m, name)
			}
		}
	}
}

func (s *Server) cmdPublish(c *session, args [][]byte) error  { return s.publish(c, false, args) }
func (s *Server) cmdSPublish(c *session, args [][]byte) error { return s.publish(c, true, args) }

// publish delivers to this node's subscribers, then to the other nodes'.
func (s *Server) publish(c *session, shard bool, args [][]byte) error {
	n := s.Deliver(shard, args[1], args[2])
	if s.bus != nil {
		n += s.bus.Publish(c.ctx, shard, args[1], args[2])
	}
	c.w.integer(n)
	return nil
}

// Deliver queues a message published on channel for this node's
// subscribers (of the channel and of the patterns it matches, or of the
// shard channel) and returns how many received it. It never blocks on a
// subscriber. The peer handler calls it for messages of other nodes.
func (s *Server) Deliver(shard bool, channel, message []byte) int64 {
	type target struct {
		c       *session
		pattern string // "" for a channel subscriber
	}
	var targets []target
	s.ps.mu.Lock()
	if shard {
		for c := range s.ps.shards[string(channel)] {
			targets = append(targets, target{c: c})
		}
	} else {
		for c := range s.ps.channels[string(channel)] {
			targets = append(targets, target{c: c})
		}
		for p, subs := range s.ps.patterns {
			if globMatch([]byte(p), channel) {
				for c := range subs {
					targets = append(targets, target{c, p})
				}
			}
		}
	}
	s.ps.mu.Unlock()
	var n int64
	for _, t := range targets {
		var w writer
		w.resp3 = t.c.proto3.Load()
		switch {
		case shard:
			w.pushLen(3)
			w.bulkString("smessage")
		case t.pattern != "":
			w.pushLen(4)
			w.bulkString("pmessage")
			w.bulkString(t.pattern)
		default:
			w.pushLen(3)
			w.bulkString("message")
		}
		w.bulk(channel)
		w.bulk(message)
		if s.push(t.c, w.b) {
			n++
		}
	}
	return n
}

// push queues msg for c and reports whether it did: it closes c instead if
// its queue would pass maxPushBytes, and a subscriber closed so, whose
// subscriptions its session's end removes, receives nothing more.
func (s *Server) push(c *session, msg []byte) bool {
	q := c.pushQueue.Load()
	if q == nil {
		return false
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	if q.bytes+int64(len(msg)) > s.pushLimit {
		q.closed = true
		q.q, q.bytes = nil, 0
		q.mu.Unlock()
		s.stats.pushLimitDisconnects.Add(1)
		s.rlog.Log(slog.LevelWarn, "client closed: its Pub/Sub messages waiting to be sent passed the limit", "client", c.id, "remote", c.addr, "limit", s.pushLimit)
		if c.kill != nil {
			c.kill()
		}
		return false
	}
	q.q = append(q.q, msg)
	q.bytes += int64(len(msg))
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return true
}

// pusher sends the messages queued for the connection's client between
// its replies, until the connection ends.
func (c *conn) pusher(q *pushQueue) {
	defer c.pushers.Done()
	for {
		select {
		case <-q.wake:
		case <-q.done:
			return
		}
		for {
			q.mu.Lock()
			batch := q.q
			q.q, q.bytes = nil, 0
			q.mu.Unlock()
			if len(batch) == 0 {
				break
			}
			c.out.Lock()
			for _, m := range batch {
				if _, err := c.Write(m); err != nil {
					c.out.Unlock()
					_ = c.nc.Close()
					return
				}
			}
			c.out.Unlock()
		}
	}
}

// cmdPubsub implements PUBSUB CHANNELS, NUMSUB, NUMPAT, SHARDCHANNELS and
// SHARDNUMSUB over this node's subscriptions.
func (s *Server) cmdPubsubChannels(c *session, args [][]byte) error {
	return s.pubsubChannels(c, s.ps.channels, args)
}

func (s *Server) cmdPubsubShardChannels(c *session, args [][]byte) error {
	return s.pubsubChannels(c, s.ps.shards, args)
}

func (s *Server) pubsubChannels(c *session, m map[string]map[*session]struct{}, args [][]byte) error {
	if len(args) > 3 {
		return arityError("pubsub|" + string(appendLower(nil, args[1])))
	}
	s.ps.mu.Lock()
	var names []string
	for name := range m {
		if len(args) < 3 || globMatch(args[2], []byte(name)) {
			names = append(names, name)
		}
	}
	s.ps.mu.Unlock()
	slices.Sort(names)
	c.w.array(len(names))
	for _, n := range names {
		c.w.bulkString(n)
	}
	return nil
}

func (s *Server) cmdPubsubNumSub(c *session, args [][]byte) error {
	return s.pubsubNumSub(c, s.ps.channels, args)
}

func (s *Server) cmdPubsubShardNumSub(c *session, args [][]byte) error {
	return s.pubsubNumSub(c, s.ps.shards, args)
}

func (s *Server) pubsubNumSub(c *session, m map[string]map[*session]struct{}, args [][]byte) error {
	c.w.mapLen(len(args) - 2)
	s.ps.mu.Lock()
	defer s.ps.mu.Unlock()
	for _, name := range args[2:] {
		c.w.bulk(name)
		c.w.integer(int64(len(m[string(name)])))
	}
	return nil
}

func (s *Server) cmdPubsubNumPat(c *session, _ [][]byte) error {
	s.ps.mu.Lock()
	n := len(s.ps.patterns)
	s.ps.mu.Unlock()
	c.w.integer(int64(n))
	return nil
}

func (s *Server) cmdPubsubHelp(c *session, _ [][]byte) error {
	writeHelp(c.w, "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"CHANNELS [<pattern>]", "    Return the currently active channels matching a <pattern> (default: '*').",
		"NUMPAT", "    Return number of subscriptions to patterns.",
		"NUMSUB [<channel> ...]", "    Return the number of subscribers for the specified channels, excluding",
		"    pattern subscriptions(default: no channels).",
		"SHARDCHANNELS [<pattern>]", "    Return the currently active shard level channels matching a <pattern> (default: '*').",
		"SHARDNUMSUB [<shardchannel> ...]", "    Return the number of subscribers for the specified shard level channel(s)",
		"(dynkv: this node's subscribers.)")
	return nil
}

// subscribedOnly reports whether cmd is refused to c in RESP2's subscribed
// state.
func subscribedOnly(c *session, cmd *command) bool {
	if c.w.resp3 || !c.subs.any() {
		return false
	}
	switch cmd.name {
	case "subscribe", "unsubscribe", "psubscribe", "punsubscribe", "ssubscribe", "sunsubscribe", "ping", "quit", "reset":
		return false
	}
	return true
}
