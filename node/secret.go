package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"

	"github.com/dynkv/dynkv/replica"
)

// metaSecret names, in the store's metadata, the cluster secret a node
// generated for itself because none was configured.
const metaSecret = "cluster.secret"

// ErrNoSecret refuses a node that would join a cluster through seeds
// without the cluster's shared secret: it could neither prove itself to
// the others nor check them.
var ErrNoSecret = errors.New("cluster.secret: a node that joins a cluster through seeds needs the cluster's shared secret: " +
	"set cluster.secret (DYNKV_CLUSTER_SECRET) to the same value on every node")

// clusterSecret returns the secret of the node's cluster ports: the
// configured one, or else the one this data directory keeps, generated at
// its first start. A generated secret is known to no other node, so the
// peer and gossip ports refuse everyone (no handshake, no gossip, no data)
// until an operator gives every node the same cluster.secret; a one-node
// deployment needs none. It never logs the secret.
func clusterSecret(ctx context.Context, configured string, seeds []string, st *replica.Store, log *slog.Logger) (string, error) {
	if configured != "" {
		return configured, nil
	}
	if len(seeds) > 0 {
		return "", ErrNoSecret
	}
	saved, err := st.GetMeta(ctx, metaSecret)
	if err != nil {
		return "", fmt.Errorf("cluster.secret: read the generated one: %w", err)
	}
	if len(saved) > 0 {
		return string(saved), nil
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	secret := hex.EncodeToString(b[:])
	if err := st.SetMeta(ctx, metaSecret, []byte(secret)); err != nil {
		return "", fmt.Errorf("cluster.secret: keep the generated one: %w", err)
	}
	log.Warn("no cluster.secret set: generated one for this data directory; " +
		"the cluster ports refuse every other node until all nodes are given the same cluster.secret")
	return secret, nil
}
