package bench

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/resp"
	"github.com/dynkv/dynkv/resp/resptest"
)

func testLoad(work string) Load {
	return Load{Workload: work, Value: 100, Keys: 200, Clients: 4, Pipeline: 4,
		Duration: time.Minute, Requests: 400, Seed: 1}
}

func TestDrive(t *testing.T) {
	srv := resptest.Start(t, resp.DefaultConfig())
	ctx := context.Background()
	fill := testLoad(workFill)
	fill.Requests = 0
	st, err := Drive(ctx, []string{srv.Addr}, fill)
	require.NoError(t, err)
	require.Zero(t, st.Errors, st.FirstError)
	require.EqualValues(t, 200, st.Requests, "a fill writes every key once")

	for _, tc := range []struct {
		name string
		l    func() Load
	}{
		{"set", func() Load { return testLoad(WorkSet) }},
		{"get", func() Load { return testLoad(WorkGet) }},
		{"mixed", func() Load { return testLoad(WorkMixed) }},
		{"zipf", func() Load { return testLoad(WorkZipf) }},
		{"cart", func() Load { l := testLoad(WorkCart); l.Keys = 2; return l }},
		{"plain cart", func() Load { l := testLoad(WorkCart); l.Keys = 2; l.PlainCart = true; return l }},
		{"open loop", func() Load { l := testLoad(WorkMixed); l.Rate = 2000; l.Requests = 200; return l }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := tc.l()
			st, err := Drive(ctx, []string{srv.Addr}, l)
			require.NoError(t, err)
			require.Zero(t, st.Errors, st.FirstError)
			require.EqualValues(t, l.Requests, st.Requests)
			require.Equal(t, st.Requests, st.Latency.Count())
			require.Positive(t, st.Throughput())
			if l.Workload == WorkCart && !l.PlainCart {
				var dgets uint64
				for _, n := range st.Versions {
					dgets += n
				}
				require.Equal(t, st.Requests/2, dgets)
			}
		})
	}
}

// TestDrive_CountsErrors: a server that refuses every request (it wants a
// password) yields errors, not throughput.
func TestDrive_CountsErrors(t *testing.T) {
	cfg := resp.DefaultConfig()
	cfg.RequirePass = "secret"
	srv := resptest.Start(t, cfg)
	for _, work := range []string{WorkSet, WorkCart} {
		t.Run(work, func(t *testing.T) {
			st, err := Drive(context.Background(), []string{srv.Addr}, testLoad(work))
			require.NoError(t, err)
			require.Zero(t, st.Requests)
			require.EqualValues(t, 400, st.Errors)
			require.Contains(t, st.FirstError, "NOAUTH")
		})
	}
}

func TestDrive_NoServer(t *testing.T) {
	_, err := Drive(context.Background(), []string{"127.0.0.1:1"}, testLoad(WorkSet))
	require.Error(t, err)
}

func TestMergeCart(t *testing.T) {
	got := mergeCart([][]byte{[]byte("a,b"), []byte("b,c")}, []byte("d"))
	require.Equal(t, "a,b,c,d", string(got))
	var many []byte
	for i := range 20 {
		if i > 0 {
			many = append(many, ',')
		}
		many = append(many, byte('A'+i))
	}
	got = mergeCart([][]byte{many}, []byte("z"))
	require.Len(t, got, cartItems*2-1)
	require.Equal(t, byte('z'), got[len(got)-1])
}

func TestZipf_SkewedAndInRange(t *testing.T) {
	z := newZipf(1000, zipfTheta)
	g := newGen(Load{Workload: WorkZipf, Value: 1, Keys: 1000, Seed: 1}, 0, 1, z)
	counts := make([]int, 1000)
	for range 100000 {
		k := z.next(g.rng)
		require.True(t, k >= 0 && k < 1000)
		counts[k]++
	}
	require.Greater(t, counts[0], counts[10])
	require.Greater(t, counts[0], 100000/1000*20, "the most popular key is far above uniform")
}
