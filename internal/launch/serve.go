package launch

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
)

// Serve is the command line of one `dynkv serve` node. Empty fields and
// zero quorums are left out, so that dynkv's own defaults apply.
type Serve struct {
	ID           string   // --node.id
	Listen       string   // --listen: the RESP listener, host:port
	PeerListen   string   // --peer.listen
	GossipListen string   // --gossip.listen
	DataDir      string   // --data.dir
	N, R, W      int      // --n, --r, --w
	Seeds        []string // --seeds, joined with commas
	Secret       string   // cluster.secret, passed in the environment (Env), not on the command line, where ps shows it
	Extra        []string // more arguments, last: a repeated flag overrides the one above
}

// Args returns the arguments of the dynkv binary: "serve" and the flags.
func (s Serve) Args() []string {
	args := []string{"serve"}
	str := func(flag, v string) {
		if v != "" {
			args = append(args, flag, v)
		}
	}
	num := func(flag string, v int) {
		if v != 0 {
			args = append(args, flag, strconv.Itoa(v))
		}
	}
	str("--node.id", s.ID)
	str("--listen", s.Listen)
	str("--peer.listen", s.PeerListen)
	str("--gossip.listen", s.GossipListen)
	str("--data.dir", s.DataDir)
	num("--n", s.N)
	num("--r", s.R)
	num("--w", s.W)
	str("--seeds", strings.Join(s.Seeds, ","))
	return append(args, s.Extra...)
}

// FreeAddr returns a loopback address whose port is free for TCP and UDP
// now (gossip uses both). Another program may take it before it is used;
// the start of whatever uses it then fails clearly.
func FreeAddr() (string, error) {
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		addr := l.Addr().String()
		_ = l.Close()
		if u, err := net.ListenPacket("udp", addr); err == nil {
			_ = u.Close()
			return addr, nil
		}
	}
}

// Env returns the environment entries the node needs besides Args: the
// cluster secret, when set.
func (s Serve) Env() []string {
	if s.Secret == "" {
		return nil
	}
	return []string{"DYNKV_CLUSTER_SECRET=" + s.Secret}
}

// NewSecret returns a random cluster secret, for a harness that starts the
// nodes of one cluster.
func NewSecret() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// FreeRange returns the first of n consecutive ports in [20000, 32000)
// that are free for TCP and UDP on 127.0.0.1, trying from a place that
// depends on seed and the process, so that concurrent runs rarely collide.
// The range is below the kernel's ephemeral ports, so no outgoing
// connection takes the port of a node that was killed before it restarts.
func FreeRange(seed uint64, n int) (int, error) {
	const lo, hi = 20000, 32000
	start := int((seed*7919 + uint64(os.Getpid())*104729) % uint64(hi-lo-n))
	for try := 0; try < 200; try++ {
		base := lo + (start+try*(n+1))%(hi-lo-n)
		if portsFree(base, n) {
			return base, nil
		}
	}
	return 0, errors.New("launch: no free range of ports in [20000, 32000)")
}

func portsFree(base, n int) bool {
	var closers []interface{ Close() error }
	defer func() {
		for _, c := range closers {
			_ = c.Close()
		}
	}()
	for p := base; p < base+n; p++ {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return false
		}
		closers = append(closers, ln)
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return false
		}
		closers = append(closers, pc)
	}
	return true
}
