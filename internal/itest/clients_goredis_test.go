package itest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// goRedis runs the conformance steps with go-redis v9 in this process and
// writes the same lines as the scripts of testdata/clients: as a plain
// client (cluster false) of addrs[0] or as a ClusterClient of addrs, both
// with default options.
func goRedis(ctx context.Context, w io.Writer, cluster bool, target, prefix string, addrs []string) {
	var rdb redis.UniversalClient
	if cluster {
		rdb = redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	} else {
		rdb = redis.NewClient(&redis.Options{Addr: addrs[0]})
	}
	defer rdb.Close()
	g := goRedisSteps{rdb: rdb, cluster: cluster, target: target, prefix: prefix, tag: "{" + prefix + "}", addrs: addrs}
	steps := map[string]func(context.Context) error{
		"connect": g.connect, "set-get": g.setGet, "set-ex": g.setEx, "ttl": g.ttl,
		"mset-mget": g.msetMget, "del": g.del, "pipeline": g.pipeline,
		"multi-exec": g.multiExec, "watch": g.watch, "scan": g.scan,
		"pubsub": g.pubsub, "dget": g.dget, "error": g.errorReply,
	}
	connected := true
	for _, name := range clientSteps {
		err := errors.New("not run: connect failed")
		if connected {
			sctx, cancel := context.WithTimeout(ctx, stepTimeout)
			err = steps[name](sctx)
			cancel()
		}
		if err != nil {
			fmt.Fprintf(w, "FAIL %s: %s\n", name, strings.Join(strings.Fields(err.Error()), " "))
			connected = connected && name != "connect"
			continue
		}
		fmt.Fprintf(w, "PASS %s\n", name)
	}
}

// stepTimeout bounds one step, as in the scripts: far more than a step
// takes, even under the race detector on a loaded 2-core machine.
const stepTimeout = 10 * time.Second

type goRedisSteps struct {
	rdb     redis.UniversalClient
	cluster bool
	target  string
	prefix  string
	tag     string // keeps a multi-key step's keys in one hash slot
	addrs   []string
}

// another returns a second client of the same kind.
func (g goRedisSteps) another() redis.UniversalClient {
	if g.cluster {
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: g.addrs})
	}
	return redis.NewClient(&redis.Options{Addr: g.addrs[0]})
}

// expect returns err, or an error unless got equals want.
func expect[T comparable](what string, got T, err error, want T) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if got != want {
		return fmt.Errorf("%s: got %v, want %v", what, got, want)
	}
	return nil
}

func (g goRedisSteps) connect(ctx context.Context) error {
	s, err := g.rdb.Ping(ctx).Result()
	return expect("PING", s, err, "PONG")
}

func (g goRedisSteps) setGet(ctx context.Context) error {
	s, err := g.rdb.Set(ctx, g.prefix+"k", "v", 0).Result()
	if err := expect("SET", s, err, "OK"); err != nil {
		return err
	}
	s, err = g.rdb.Get(ctx, g.prefix+"k").Result()
	if err := expect("GET", s, err, "v"); err != nil {
		return err
	}
	if err := g.rdb.Get(ctx, g.prefix+"missing").Err(); !errors.Is(err, redis.Nil) {
		return fmt.Errorf("GET of a missing key: got %v, want redis.Nil", err)
	}
	return nil
}

func (g goRedisSteps) setEx(ctx context.Context) error {
	s, err := g.rdb.Set(ctx, g.prefix+"ex", "v", 100*time.Second).Result()
	if err := expect("SET EX", s, err, "OK"); err != nil {
		return err
	}
	s, err = g.rdb.Get(ctx, g.prefix+"ex").Result()
	return expect("GET", s, err, "v")
}

func (g goRedisSteps) ttl(ctx context.Context) error {
	d, err := g.rdb.TTL(ctx, g.prefix+"ex").Result()
	if err != nil {
		return err
	}
	if d <= 0 || d > 100*time.Second {
		return fmt.Errorf("TTL %s: want 1s..100s", d)
	}
	return nil
}

func (g goRedisSteps) msetMget(ctx context.Context) error {
	s, err := g.rdb.MSet(ctx, g.tag+"a", "1", g.tag+"b", "2").Result()
	if err := expect("MSET", s, err, "OK"); err != nil {
		return err
	}
	vals, err := g.rdb.MGet(ctx, g.tag+"a", g.tag+"missing", g.tag+"b").Result()
	return expect("MGET", fmt.Sprint(vals), err, fmt.Sprint([]any{"1", nil, "2"}))
}

func (g goRedisSteps) del(ctx context.Context) error {
	n, err := g.rdb.Del(ctx, g.tag+"a", g.tag+"b", g.tag+"missing").Result()
	if err := expect("DEL", n, err, 2); err != nil {
		return err
	}
	if err := g.rdb.Get(ctx, g.tag+"a").Err(); !errors.Is(err, redis.Nil) {
		return fmt.Errorf("GET after DEL: got %v, want redis.Nil", err)
	}
	return nil
}

// threeCommands queues SET key 1, APPEND key 2, GET key.
func threeCommands(ctx context.Context, p redis.Pipeliner, key string) *redis.StringCmd {
	p.Set(ctx, key, "1", 0)
	p.Append(ctx, key, "2")
	return p.Get(ctx, key)
}

func (g goRedisSteps) pipeline(ctx context.Context) error {
	var get *redis.StringCmd
	_, err := g.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		get = threeCommands(ctx, p, g.tag+"p")
		return nil
	})
	return expect("pipelined GET", get.Val(), err, "12")
}

func (g goRedisSteps) multiExec(ctx context.Context) error {
	var get *redis.StringCmd
	_, err := g.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		get = threeCommands(ctx, p, g.tag+"m")
		return nil
	})
	return expect("GET in MULTI/EXEC", get.Val(), err, "12")
}

func (g goRedisSteps) watch(ctx context.Context) error {
	key := g.tag + "w"
	if err := g.rdb.Set(ctx, key, "1", 0).Err(); err != nil {
		return err
	}
	other := g.another()
	defer other.Close()
	err := g.rdb.Watch(ctx, func(tx *redis.Tx) error {
		if err := other.Set(ctx, key, "2", 0).Err(); err != nil {
			return fmt.Errorf("SET by another client: %w", err)
		}
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, key, "3", 0)
			return nil
		})
		return err
	}, key)
	if !errors.Is(err, redis.TxFailedErr) {
		return fmt.Errorf("EXEC after a watched key changed: got %v, want redis.TxFailedErr", err)
	}
	s, err := g.rdb.Get(ctx, key).Result()
	return expect("GET after the aborted transaction", s, err, "2")
}

func (g goRedisSteps) scan(ctx context.Context) error {
	var keys []string
	for i := range 5 {
		k := fmt.Sprintf("%sscan:%d", g.prefix, i)
		keys = append(keys, k)
		if err := g.rdb.Set(ctx, k, "v", 0).Err(); err != nil {
			return err
		}
	}
	var mu sync.Mutex
	got := map[string]bool{}
	scan := func(ctx context.Context, c *redis.Client) error {
		it := c.Scan(ctx, 0, g.prefix+"scan:*", 100).Iterator()
		for it.Next(ctx) {
			mu.Lock()
			got[it.Val()] = true
			mu.Unlock()
		}
		return it.Err()
	}
	var err error
	if cc, ok := g.rdb.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, scan)
	} else {
		err = scan(ctx, g.rdb.(*redis.Client))
	}
	if err != nil {
		return err
	}
	var list []string
	for k := range got {
		list = append(list, k)
	}
	slices.Sort(list)
	return expect("keys scanned", strings.Join(list, " "), nil, strings.Join(keys, " "))
}

func (g goRedisSteps) pubsub(ctx context.Context) error {
	channel := g.prefix + "channel"
	sub := g.rdb.Subscribe(ctx, channel)
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		return fmt.Errorf("SUBSCRIBE: %w", err)
	}
	n, err := g.rdb.Publish(ctx, channel, "hello").Result()
	if err != nil {
		return fmt.Errorf("PUBLISH: %w", err)
	}
	if !g.cluster && n != 1 { // a cluster counts the receivers of one node
		return fmt.Errorf("PUBLISH receivers: got %d, want 1", n)
	}
	select {
	case m := <-sub.Channel():
		return expect("message", m.Channel+" "+m.Payload, nil, channel+" hello")
	case <-ctx.Done():
		return errors.New("no message")
	}
}

var contextRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func (g goRedisSteps) dget(ctx context.Context) error {
	key := g.prefix + "dget"
	if err := g.rdb.Set(ctx, key, "v", 0).Err(); err != nil {
		return err
	}
	reply, err := g.rdb.Do(ctx, "DGET", key).Slice()
	if g.target == oracle {
		if err != nil && strings.Contains(strings.ToLower(err.Error()), "unknown command") {
			return nil
		}
		return fmt.Errorf("redis-server answered DGET: %v %v", reply, err)
	}
	if err != nil {
		return err
	}
	if len(reply) != 2 {
		return fmt.Errorf("DGET reply %v: want [context, values]", reply)
	}
	if c, ok := reply[0].(string); !ok || !contextRE.MatchString(c) {
		return fmt.Errorf("DGET context %#v", reply[0])
	}
	return expect("DGET values", fmt.Sprint(reply[1]), nil, fmt.Sprint([]any{"v"}))
}

func (g goRedisSteps) errorReply(ctx context.Context) error {
	err := g.rdb.Do(ctx, "GET", g.prefix+"k", "extra").Err()
	if err == nil || !strings.Contains(err.Error(), "wrong number of arguments") {
		return fmt.Errorf("want an arity error, got %v", err)
	}
	s, err := g.rdb.Ping(ctx).Result()
	return expect("PING after the error", s, err, "PONG")
}
