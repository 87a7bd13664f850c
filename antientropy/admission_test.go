package antientropy_test

import (
	"context"
	"testing"
	"time"

	"github.com/dynkv/dynkv/internal/testclock"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/admission"
	"github.com/dynkv/dynkv/antientropy"
)

// TestExchange_YieldsToSlowForeground: the repairs of an exchange are
// paced by the rate the node's admission controller grants. With the
// foreground p99 under the target they are spaced by 1/Rate; once the
// controller has seen slow foreground windows, by 1/(Rate × floor). The
// clock stands still during the exchange, so the i-th repair's reserved
// wait is exactly i spacings and their sum is known: what is measured is
// the delay the limiter reserved, not time slept.
func TestExchange_YieldsToSlowForeground(t *testing.T) {
	const rate = 100_000 // keys per second at the full share: the sleeps stay short
	cfg := admission.DefaultConfig()
	for _, tc := range []struct {
		name       string
		foreground time.Duration // every observed operation's latency
		share      float64       // what the controller grants after 10 windows of them
	}{
		{"foreground-fast", time.Millisecond, 1},
		{"foreground-slow", 5 * cfg.Target, cfg.Floor},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t, 2_000, 40)
			clk := testclock.New(time.Unix(1_700_000_000, 0))
			adm, err := admission.New(cfg, clk.Now)
			require.NoError(t, err)
			acfg := antientropy.DefaultConfig()
			acfg.N, acfg.Rate = 2, rate
			ae, err := antientropy.New(acfg, p.a, p.view, p.tr, clk.Now, adm)
			require.NoError(t, err)
			for range 10 { // foreground operations, as a coordinator reports them
				for range 1000 {
					adm.Since(clk.Now().Add(-tc.foreground))
				}
				clk.Advance(cfg.Window)
			}
			require.InDelta(t, rate*tc.share, ae.Stats().RateNow, 1e-6)

			res, err := ae.Exchange(context.Background(), 0, "b")
			require.NoError(t, err)
			require.Equal(t, 40, res.Repaired)
			require.Equal(t, root(t, p.a), root(t, p.b))

			st := ae.Stats()
			spacing := float64(time.Second) / (rate * tc.share)
			n := float64(res.Repaired)
			want := time.Duration(n * (n - 1) / 2 * spacing) // 0 + 1 + … + (n-1) spacings
			require.InDelta(t, float64(want), float64(st.Throttled), float64(time.Microsecond), "reserved %s, want %s", st.Throttled, want)
			require.Equal(t, tc.share, st.Admission.Share)
			t.Logf("%s: foreground p99 %s, share %.2f, %d repairs reserved %s of waits", tc.name,
				st.Admission.ForegroundP99, st.Admission.Share, res.Repaired, st.Throttled)
		})
	}
}
