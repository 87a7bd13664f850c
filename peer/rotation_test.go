package peer

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTCP_SecretRotation: during the three steps of a rotation (install
// the new secret as AcceptedSecret, use it, remove the old one) nodes at
// neighbouring steps talk both ways, also where one holds only the old
// secret and the other only the new one through a node in the middle; a
// node that holds neither gets nothing, and once the old secret is removed
// a node that holds only it is refused.
func TestTCP_SecretRotation(t *testing.T) {
	ctx := context.Background()
	book := newTCPBook()
	conf := func(secret, accepted string) Config {
		c := tcpTestConfig(t)
		c.Secret, c.AcceptedSecret = secret, accepted
		return c
	}
	get := func(tr *TCP, node string) error {
		_, err := tr.Call(ctx, node, EncodeRequest(Request{Op: OpGet, Key: []byte("k")}))
		return err
	}
	steps := []struct{ node, secret, accepted string }{
		{"before", "old", ""}, {"installed", "old", "new"}, {"using", "new", "old"}, {"removed", "new", ""},
	}
	nodes := map[string]*TCP{}
	for _, st := range steps {
		nodes[st.node], _ = startTCP(t, book, st.node, "", conf(st.secret, st.accepted), NewMux(tcpStore(t)).Serve)
	}
	for i := range len(steps) - 1 {
		a, b := steps[i].node, steps[i+1].node
		require.NoError(t, get(nodes[a], b), "%s -> %s", a, b)
		require.NoError(t, get(nodes[b], a), "%s -> %s", b, a)
	}
	require.NoError(t, get(nodes["installed"], "removed"), "the node that installed the new secret proves it to one that holds only it")
	require.NoError(t, get(nodes["removed"], "installed"))

	stranger := tcpClientOnly(t, book, "stranger", conf("guess", "another-guess"))
	for _, st := range steps {
		require.ErrorIs(t, get(stranger, st.node), ErrPeerAuth, st.node)
	}
	require.ErrorIs(t, get(nodes["before"], "removed"), ErrPeerAuth, "after the rotation the old secret is refused")
	require.ErrorIs(t, get(nodes["removed"], "before"), ErrPeerAuth)
}
