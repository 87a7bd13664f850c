package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
)

// This file holds what the admin verbs (ring, leave, join) share: the
// --addr and --password flags, one connection to a node, and the wording
// of its failures.

// passwordEnv holds the password of the admin verbs when --password is not
// given, as for redis-cli: a password on the command line shows in ps.
const passwordEnv = "REDISCLI_AUTH"

// passwordHelp ends the long help of every admin verb.
const passwordHelp = `A node that requires a password takes it from --password or, so that it
does not show in ps, from the ` + passwordEnv + ` environment variable.`

// nodeFlags are the flags of a verb that asks one node.
type nodeFlags struct {
	addr, password string
}

// register adds --addr and --password to cmd.
func (f *nodeFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.addr, "addr", "127.0.0.1:6379", "client address of a node, host:port")
	cmd.Flags().StringVar(&f.password, "password", "", "password of the node (requirepass) (env "+passwordEnv+")")
}

// resolve checks --addr and returns the password: --password when given,
// else the environment's.
func (f *nodeFlags) resolve(cmd *cobra.Command) (string, error) {
	if _, _, err := net.SplitHostPort(f.addr); err != nil {
		return "", usageError{fmt.Errorf("addr: %q is not host:port", f.addr)}
	}
	if cmd.Flags().Changed("password") {
		return f.password, nil
	}
	return os.Getenv(passwordEnv), nil
}

// nodeConn is one connection to a node for an admin verb.
type nodeConn struct {
	verb    string        // names the verb in errors: "ring", "leave"
	addr    string        // the node's client address
	timeout time.Duration // bounds the whole verb; errors name it
	rdb     *redis.Client
	close   func()
}

// dialNode connects to the node at addr. The caller bounds ctx by timeout
// and closes the connection.
func dialNode(ctx context.Context, verb, addr, password string, timeout time.Duration) (*nodeConn, error) {
	c := &nodeConn{verb: verb, addr: addr, timeout: timeout}
	// Dial first: an unreachable node gets one clear error, and go-redis
	// does not retry and log the failure on its own.
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, c.fail(err)
	}
	var used atomic.Bool
	c.rdb = redis.NewClient(&redis.Options{
		Addr: addr, Password: password,
		Protocol: 2, DisableIdentity: true, // dynkv speaks RESP2; skip CLIENT SETINFO
		MaxRetries: -1, PoolSize: 1,
		// A membership change may wait on gossip for longer than go-redis's
		// default 3s: the verb's context bounds each command instead.
		ContextTimeoutEnabled: true, ReadTimeout: timeout, WriteTimeout: timeout,
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if used.CompareAndSwap(false, true) {
				return nc, nil
			}
			return d.DialContext(ctx, network, addr)
		},
	})
	c.close = func() {
		_ = c.rdb.Close()
		if used.CompareAndSwap(false, true) {
			_ = nc.Close()
		}
	}
	return c, nil
}

// do sends one command and returns its reply, or the failure explained.
func (c *nodeConn) do(ctx context.Context, args ...any) (any, error) {
	v, err := c.rdb.Do(ctx, args...).Result()
	if err != nil {
		return nil, c.fail(err)
	}
	return v, nil
}

// info returns the fields of INFO section.
func (c *nodeConn) info(ctx context.Context, section string) (map[string]string, error) {
	s, err := c.rdb.Info(ctx, section).Result()
	if err != nil {
		return nil, c.fail(err)
	}
	return parseInfo(s), nil
}

// fail explains a failed request to the node.
func (c *nodeConn) fail(err error) error {
	switch {
	case redis.HasErrorPrefix(err, "NOAUTH"):
		return fmt.Errorf("%s: %s requires a password: give it with --password or %s", c.verb, c.addr, passwordEnv)
	case redis.HasErrorPrefix(err, "WRONGPASS"):
		return fmt.Errorf("%s: %s refused the password", c.verb, c.addr)
	case redis.HasErrorPrefix(err, "unknown command"):
		return fmt.Errorf("%s: %s does not know RING: is it a dynkv node?", c.verb, c.addr)
	case redis.HasErrorPrefix(err, "unknown subcommand"):
		return fmt.Errorf("%s: %s does not know RING %s: is it an older dynkv?", c.verb, c.addr, strings.ToUpper(c.verb))
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %s did not answer within %s", c.verb, c.addr, c.timeout)
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return fmt.Errorf("%s: cannot reach a node at %s: %w", c.verb, c.addr, err)
	}
	return fmt.Errorf("%s: %s: %w", c.verb, c.addr, err)
}
