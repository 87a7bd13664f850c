package resp

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"

	"github.com/dynkv/dynkv/admin"
	"github.com/dynkv/dynkv/coordinator"
)

// infoSection is one section of INFO.
type infoSection struct {
	name  string // lowercase, as clients ask for it
	title string // as the "# Title" line shows it
	write func(s *Server, b *infoBuilder)
	// extra sections are not in the default set: INFO shows them when
	// asked by name, or for "all" and "everything".
	extra bool
}

// infoSections lists INFO's sections in output order (Redis's, with dynkv's
// own last); all but the extra ones are in the default set.
func infoSections() []infoSection {
	return []infoSection{
		{"server", "Server", (*Server).infoServer, false},
		{"clients", "Clients", (*Server).infoClients, false},
		{"memory", "Memory", (*Server).infoMemory, false},
		{"persistence", "Persistence", (*Server).infoPersistence, false},
		{"stats", "Stats", (*Server).infoStats, false},
		{"replication", "Replication", (*Server).infoReplication, false},
		{"cluster", "Cluster", (*Server).infoCluster, false},
		{"keyspace", "Keyspace", (*Server).infoKeyspace, false},
		{"dynkv", "Dynkv", (*Server).infoDynkv, false},
		{"antientropy", "AntiEntropy", (*Server).infoAntiEntropy, false},
		{"antientropy_partitions", "AntiEntropy_Partitions", (*Server).infoAntiEntropyPartitions, true},
	}
}

// infoBuilder accumulates INFO's text, with the counters read once.
type infoBuilder struct {
	strings.Builder
	backend coordinator.Stats // since the last CONFIG RESETSTAT where counted
	store   admin.StoreStats  // idem
}

func (b *infoBuilder) field(name string, v any) {
	fmt.Fprintf(b, "%s:%v\r\n", name, v)
}

// cmdInfo implements INFO [section ...]: no section, "default", "all" and
// "everything" mean every section; unknown sections are ignored, as Redis
// does.
func (s *Server) cmdInfo(c *session, args [][]byte) error {
	want := map[string]bool{}
	def, all := len(args) == 1, false
	for _, a := range args[1:] {
		name := strings.ToLower(string(a))
		def = def || name == "default"
		all = all || name == "all" || name == "everything"
		want[name] = true
	}
	b := &infoBuilder{backend: s.backend.Stats(), store: s.store.Stats()}
	base := s.base.Load()
	b.backend.Reads -= base.backend.Reads
	b.backend.Writes -= base.backend.Writes
	b.backend.SiblingReads -= base.backend.SiblingReads
	b.backend.ReadRepairs -= base.backend.ReadRepairs
	b.backend.Hinted -= base.backend.Hinted
	b.backend.HandedOff -= base.backend.HandedOff
	b.backend.Forwarded -= base.backend.Forwarded
	b.backend.Suspicions -= base.backend.Suspicions
	b.backend.LateReplies -= base.backend.LateReplies
	b.store.Reads -= base.store.Reads
	b.store.Writes -= base.store.Writes
	first := true
	for _, sec := range infoSections() {
		if !all && !want[sec.name] && (!def || sec.extra) {
			continue
		}
		if !first {
			b.WriteString("\r\n")
		}
		first = false
		b.WriteString("# " + sec.title + "\r\n")
		sec.write(s, b)
	}
	c.w.verbatim(b.String())
	return nil
}

func (s *Server) infoServer(b *infoBuilder) {
	now := s.now()
	uptime := int64(now.Sub(s.started) / time.Second)
	b.field("redis_version", redisVersion)
	b.field("dynkv_version", moduleVersion())
	b.field("redis_mode", "standalone")
	b.field("os", runtime.GOOS+" "+runtime.GOARCH)
	b.field("arch_bits", strconv.IntSize)
	b.field("go_version", runtime.Version())
	b.field("process_id", os.Getpid())
	b.field("run_id", s.runID)
	b.field("tcp_port", s.port())
	b.field("server_time_usec", now.UnixMicro())
	b.field("uptime_in_seconds", uptime)
	b.field("uptime_in_days", uptime/86400)
}

// infoClients reports the clients. client_recent_max_input_buffer and
// client_recent_max_output_buffer are the largest query and output bytes
// of a connected client now (Redis's are over the last seconds).
func (s *Server) infoClients(b *infoBuilder) {
	s.mu.Lock()
	n := len(s.mu.clients)
	var maxIn, maxOut int64
	for c := range s.mu.clients {
		maxIn, maxOut = max(maxIn, c.mem.query.Load()), max(maxOut, c.mem.output())
	}
	s.mu.Unlock()
	b.field("connected_clients", n)
	b.field("cluster_connections", 0)
	b.field("maxclients", s.maxClients.Load())
	b.field("client_recent_max_input_buffer", maxIn)
	b.field("client_recent_max_output_buffer", maxOut)
	b.field("blocked_clients", 0)
	b.field("tracking_clients", 0)
}

func (s *Server) infoMemory(b *infoBuilder) {
	ms := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/total:bytes"},
	}
	metrics.Read(ms)
	used, total := sampleUint(ms[0]), sampleUint(ms[1])
	if rss, ok := processRSS(); ok {
		// Go's own count misses what pebble allocates outside Go's heap
		// (its block cache and memtables): more than half of the RSS.
		total = rss
	}
	b.field("used_memory", used)
	b.field("used_memory_human", humanBytes(used))
	b.field("used_memory_rss", total)
	b.field("used_memory_rss_human", humanBytes(total))
	b.field("maxmemory", 0)
	b.field("maxmemory_policy", "noeviction")
	b.field("mem_clients_normal", s.mem.total.Load())
	b.field("maxmemory_clients", s.mem.maxClients.Load())
	b.field("mem_allocator", "go")
}

func sampleUint(s metrics.Sample) uint64 {
	if s.Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s.Value.Uint64()
}

// humanBytes formats n as Redis's bytesToHuman does ("1.50M").
func humanBytes(n uint64) string {
	const units = "KMGTPE"
	if n < 1024 {
		return fmt.Sprintf("%dB", n)
	}
	f, i := float64(n)/1024, 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	return fmt.Sprintf("%.2f%c", f, units[i])
}

// infoPersistence reports Redis's persistence fields as a store without RDB
// or AOF: dynkv's durability is pebble's write-ahead log, configured in
// replica.Config.
func (s *Server) infoPersistence(b *infoBuilder) {
	b.field("loading", 0)
	b.field("async_loading", 0)
	b.field("rdb_changes_since_last_save", 0)
	b.field("rdb_bgsave_in_progress", 0)
	b.field("rdb_last_save_time", s.started.Unix())
	b.field("rdb_last_bgsave_status", "ok")
	b.field("aof_enabled", 0)
	b.field("aof_rewrite_in_progress", 0)
	b.field("aof_rewrite_scheduled", 0)
	b.field("aof_last_write_status", "ok")
}

func (s *Server) infoStats(b *infoBuilder) {
	st := &s.stats
	b.field("total_connections_received", st.connections.Load())
	b.field("total_commands_processed", st.commands.Load())
	b.field("total_net_input_bytes", st.netIn.Load())
	b.field("total_net_output_bytes", st.netOut.Load())
	b.field("rejected_connections", st.rejected.Load())
	b.field("expired_keys", 0)
	b.field("evicted_keys", 0)
	b.field("keyspace_hits", st.hits.Load())
	b.field("keyspace_misses", st.misses.Load())
	b.field("total_error_replies", st.errorReplies.Load())
	b.field("evicted_clients", s.mem.evicted.Load())
	b.field("client_output_buffer_limit_disconnections", s.mem.outputDisconnections.Load())
}

func (s *Server) infoReplication(b *infoBuilder) {
	b.field("role", "master")
	b.field("connected_slaves", 0)
}

// infoKeyspace reports this node's replica: in a cluster, the keys it holds
// a copy of, not the cluster's.
func (s *Server) infoKeyspace(b *infoBuilder) {
	if b.store.Keys > 0 {
		fmt.Fprintf(b, "db0:keys=%d,expires=0,avg_ttl=0\r\n", b.store.Keys)
	}
}

// infoDynkv reports the coordinator's quorum settings and counters and the
// local store's.
func (s *Server) infoDynkv(b *infoBuilder) {
	b.field("dynkv_version", moduleVersion())
	b.field("dynkv_n", b.backend.N)
	b.field("dynkv_r", b.backend.R)
	b.field("dynkv_w", b.backend.W)
	b.field("dynkv_replicas", b.backend.Replicas)
	b.field("dynkv_reads", b.backend.Reads)
	b.field("dynkv_writes", b.backend.Writes)
	b.field("dynkv_sibling_reads", b.backend.SiblingReads)
	b.field("dynkv_store_keys", b.store.Keys)
	b.field("dynkv_store_reads", b.store.Reads)
	b.field("dynkv_store_writes", b.store.Writes)
	b.field("dynkv_store_corrupt_records", b.store.CorruptRecords)
	b.field("dynkv_store_disk_bytes", b.store.DiskBytes)
	writable, fault := 1, b.store.Fault
	if fault != "" {
		writable = 0
	} else {
		fault = "none"
	}
	b.field("dynkv_store_writable", writable)
	b.field("dynkv_store_fault", fault)
}

func (s *Server) cmdTime(c *session, _ [][]byte) error {
	now := s.now()
	c.w.array(2)
	c.w.bulkString(strconv.FormatInt(now.Unix(), 10))
	c.w.bulkString(strconv.Itoa(now.Nanosecond() / 1000))
	return nil
}

// port returns the TCP port the server listens on, or the configured one.
func (s *Server) port() string {
	addr := s.cfg.Listen
	if a := s.Addr(); a != nil {
		addr = a.String()
	}
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// moduleVersion returns dynkv's module version from the build information, or
// "devel" for a build outside a module version (tests, go run).
func moduleVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if bi.Main.Path == "github.com/dynkv/dynkv" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == "github.com/dynkv/dynkv" {
			return d.Version
		}
	}
	return "devel"
}

// processRSS returns the process's resident set size, as Redis's
// used_memory_rss: from /proc/self/statm where there is one.
func processRSS() (uint64, bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * uint64(os.Getpagesize()), true
}
