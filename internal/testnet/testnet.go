// Package testnet gives tests the network addresses they need beyond
// loopback. It is a test harness: only tests import it.
package testnet

import (
	"net"
	"os/exec"
	"testing"

	"github.com/dynkv/dynkv/internal/testenv"
)

// OutsideIPv4 returns an IPv4 address of this machine that is not
// loopback: a test that dials a server on 127.0.0.1 from it arrives as a
// client from another machine would. A machine without one gets spare (an
// address of TEST-NET-1, 192.0.2.0/24; each caller its own, so that test
// packages running at once do not share it) added to the loopback
// interface for the test, which needs root; where that fails the test
// fails under CI (CI set) and is skipped loudly elsewhere.
func OutsideIPv4(t testing.TB, spare string) net.IP {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatalf("interface addresses: %v", err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
			return ipn.IP
		}
	}
	out, err := exec.Command("ip", "addr", "add", spare+"/32", "dev", "lo").CombinedOutput()
	if err != nil {
		testenv.Missing(t, "no non-loopback IPv4 address, and none could be added (ip addr add "+spare+" dev lo needs root): "+
			err.Error()+": "+string(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "addr", "del", spare+"/32", "dev", "lo").CombinedOutput(); err != nil {
			t.Errorf("ip addr del %s: %v: %s", spare, err, out)
		}
	})
	return net.ParseIP(spare).To4()
}
