package admin

// StoreStats are counters of a store since it was opened.
type StoreStats struct {
	Keys           int64 // keys with a live value
	Reads          int64 // key reads
	Writes         int64 // records written (no-op updates are not written)
	CorruptRecords int64 // records that failed to decode
	Hints          int64 // hints held for other nodes
	DiskBytes      uint64
	// TreeRebuilds is 1 when Open rebuilt the hash tree from the data (it
	// was missing or corrupt), 0 when it loaded the persisted one.
	TreeRebuilds int64
	// Fault is why the store refuses writes ("disk_full",
	// "disk_io_error"), or "" while it takes them.
	Fault string
	// ExpiredReclaimed counts the records whose expired values were turned
	// into tombstones (replica.Store.ReclaimExpired) since Open.
	ExpiredReclaimed int64
}
