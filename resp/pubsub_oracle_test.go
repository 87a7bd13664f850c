package resp

import (
	"bytes"
	"context"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// pubsubStep is one step of a Pub/Sub scenario: client sends args (none:
// only reads), then reads replies replies (messages included).
type pubsubStep struct {
	client  string
	args    []string
	replies int
}

// pubsubScenario exercises subscriptions, patterns, shard channels, the
// RESP2 subscribed state and RESP3 pushes.
var pubsubScenario = []pubsubStep{
	{"a", []string{"SUBSCRIBE", "news", "tech"}, 2},
	{"a", []string{"PSUBSCRIBE", "n*"}, 1},
	{"b", []string{"PUBLISH", "news", "hello"}, 1},
	{"a", nil, 2}, // message, then pmessage
	{"b", []string{"PUBLISH", "nothing", "x"}, 1},
	{"a", nil, 1}, // pmessage
	{"b", []string{"PUBLISH", "other", "x"}, 1},
	{"a", []string{"GET", "k"}, 1},
	{"a", []string{"PING"}, 1},
	{"a", []string{"PING", "hi"}, 1},
	{"b", []string{"PUBSUB", "CHANNELS", "n*"}, 1},
	{"b", []string{"PUBSUB", "NUMSUB", "news", "tech", "nope"}, 1},
	{"b", []string{"PUBSUB", "NUMPAT"}, 1},
	{"a", []string{"UNSUBSCRIBE", "news"}, 1},
	{"a", []string{"PUNSUBSCRIBE"}, 1},
	{"a", []string{"UNSUBSCRIBE"}, 1},
	{"a", []string{"UNSUBSCRIBE"}, 1},
	{"a", []string{"GET", "k"}, 1},
	{"c", []string{"SSUBSCRIBE", "orders"}, 1},
	{"b", []string{"SPUBLISH", "orders", "o1"}, 1},
	{"c", nil, 1},
	{"b", []string{"PUBSUB", "SHARDCHANNELS"}, 1},
	{"b", []string{"PUBSUB", "SHARDNUMSUB", "orders"}, 1},
	{"c", []string{"SUNSUBSCRIBE"}, 1},
	{"d", []string{"HELLO", "3"}, -1}, // replied, not compared (server version and id)
	{"d", []string{"SUBSCRIBE", "x"}, 1},
	{"b", []string{"PUBLISH", "x", "m"}, 1},
	{"d", nil, 1},
	{"d", []string{"GET", "k"}, 1},
	{"d", []string{"PING"}, 1},
	{"b", []string{"SUBSCRIBE"}, 1},
	{"b", []string{"PUBLISH", "x"}, 1},
}

// TestPubSub_SideBySide runs pubsubScenario against redis-server and
// against dynkv and requires the same bytes, step by step.
func TestPubSub_SideBySide(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		requireOracle(t, err)
		return
	}
	want := runPubsub(t, startRedisServer(t, bin, []string{"--port", "0", "--save", "", "--appendonly", "no"}))
	got := runPubsub(t, startSocketServer(t))
	require.Equal(t, len(want), len(got))
	for i := range want {
		require.Equal(t, want[i], got[i], "step %d: %v", i, pubsubScenario[i])
	}
}

func runPubsub(t *testing.T, addr string) []string {
	conns := map[string]*oracleConn{}
	var out []string
	for _, st := range pubsubScenario {
		c := conns[st.client]
		if c == nil {
			c = dialOracle(t, addr)
			conns[st.client] = c
		}
		if st.args != nil {
			var b bytes.Buffer
			b.WriteString("*" + strconv.Itoa(len(st.args)) + "\r\n")
			for _, a := range st.args {
				b.WriteString("$" + strconv.Itoa(len(a)) + "\r\n" + a + "\r\n")
			}
			_, err := c.nc.Write(b.Bytes())
			require.NoError(t, err)
		}
		n, compare := st.replies, true
		if n < 0 {
			n, compare = 1, false
		}
		var got []string
		for range n {
			var r bytes.Buffer
			_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			require.NoError(t, readRawReply(c.rd, &r), "%s %v", st.client, st.args)
			got = append(got, r.String())
		}
		if !compare {
			got = []string{"(not compared)"}
		}
		out = append(out, strings.Join(got, ""))
	}
	return out
}

// startSocketServer serves a test environment's Server on a loopback port
// until the test ends.
func startSocketServer(t *testing.T) string {
	e := newDefaultEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- e.s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.s.Close(ctx)
		<-served
	})
	return ln.Addr().String()
}

// TestPubSub_SlowSubscriberClosed: a subscriber that does not read gets
// its messages queued up to the limit, then is closed (and counted), while
// the publisher never waits for it and another subscriber keeps receiving.
func TestPubSub_SlowSubscriberClosed(t *testing.T) {
	e := newDefaultEnv(t)
	e.s.pushLimit = 1 << 20
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = e.s.Serve(ln) }()
	t.Cleanup(func() { _ = e.s.Close(context.Background()) })
	addr := ln.Addr().String()

	slow, fast, pub := dialOracle(t, addr), dialOracle(t, addr), dialOracle(t, addr)
	for _, c := range []*oracleConn{slow, fast} {
		_, err := c.do([]string{"SUBSCRIBE", "firehose"})
		require.NoError(t, err)
	}
	msg := strings.Repeat("x", 64<<10)
	closed := false
	for i := 0; i < 2000 && !closed; i++ {
		reply, err := pub.do([]string{"PUBLISH", "firehose", msg})
		require.NoError(t, err)
		require.Contains(t, []string{":2\r\n", ":1\r\n"}, reply)
		// The fast subscriber reads every message as it comes.
		var r bytes.Buffer
		_ = fast.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		require.NoError(t, readRawReply(fast.rd, &r))
		require.Contains(t, r.String(), msg)
		closed = e.s.stats.pushLimitDisconnects.Load() == 1
	}
	require.True(t, closed, "the slow subscriber was closed at the limit")
	_ = slow.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = io.Copy(io.Discard, slow.rd)
	require.NoError(t, err, "the server closed the slow subscriber's connection (EOF)")
	reply, err := pub.do([]string{"PUBLISH", "firehose", "after"})
	require.NoError(t, err)
	require.Equal(t, ":1\r\n", reply, "only the fast subscriber is left")
}
