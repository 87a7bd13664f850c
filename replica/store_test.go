package replica

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/dynkv/dynkv/admin"
	"github.com/dynkv/dynkv/version"
	"github.com/stretchr/testify/require"
)

// reopen closes s and opens the store again on the same filesystem.
func reopenStore(t testing.TB, s *Store, fs vfs.FS, d Durability) *Store {
	t.Helper()
	require.NoError(t, s.Close())
	s2, err := Open(Config{Dir: "db", FS: fs, Durability: d})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s2.Close() })
	return s2
}

// rawSet writes value under the pebble key k directly, with the store closed.
func rawSet(t testing.TB, fs vfs.FS, k, value []byte) {
	t.Helper()
	db, err := pebble.Open("db", &pebble.Options{FS: fs, Merger: xorMerger})
	require.NoError(t, err)
	require.NoError(t, db.Set(k, value, pebble.Sync))
	require.NoError(t, db.Close())
}

// rawGet reads the pebble key k directly, with the store closed.
func rawGet(t testing.TB, fs vfs.FS, k []byte) []byte {
	t.Helper()
	db, err := pebble.Open("db", &pebble.Options{FS: fs, Merger: xorMerger})
	require.NoError(t, err)
	defer func() { require.NoError(t, db.Close()) }()
	v, closer, err := db.Get(k)
	require.NoError(t, err)
	defer closer.Close()
	return slices.Clone(v)
}

func TestStore_ReadWrite(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		run   func(t *testing.T, s *Store) version.Siblings // returns what Get must return for "k"
		value string                                        // what a plain read sees; "" for absent
	}{
		{
			name: "missing key",
			run:  func(t *testing.T, s *Store) version.Siblings { return nil },
		},
		{
			name:  "put",
			run:   func(t *testing.T, s *Store) version.Siblings { return mustPut(t, s, "k", "v1") },
			value: "v1",
		},
		{
			name: "put with context replaces",
			run: func(t *testing.T, s *Store) version.Siblings {
				mustPut(t, s, "k", "v1")
				ss := mustPut(t, s, "k", "v2")
				require.Len(t, ss, 1)
				require.Equal(t, version.Dot{Actor: s.Actor(), Counter: 2}, ss[0].Dot)
				return ss
			},
			value: "v2",
		},
		{
			name: "same context twice makes siblings",
			run: func(t *testing.T, s *Store) version.Siblings {
				var ss version.Siblings
				for i, v := range []string{"apple", "pear"} {
					var err error
					ss, err = s.Update(ctx, []byte("k"), func(cur version.Siblings) (version.Siblings, error) {
						return version.Update(cur, s.Actor(), nil, int64(i), []byte(v), false), nil
					})
					require.NoError(t, err)
				}
				require.Equal(t, []string{"apple", "pear"}, liveValues(ss))
				return ss
			},
			value: "pear",
		},
		{
			name: "tombstone",
			run: func(t *testing.T, s *Store) version.Siblings {
				mustPut(t, s, "k", "v1")
				ss := mustDel(t, s, "k")
				require.Len(t, ss, 1)
				require.True(t, ss[0].Tombstone)
				return ss
			},
		},
		{
			name: "write after tombstone",
			run: func(t *testing.T, s *Store) version.Siblings {
				mustPut(t, s, "k", "v1")
				mustDel(t, s, "k")
				return mustPut(t, s, "k", "v3")
			},
			value: "v3",
		},
		{
			name: "update to nothing deletes the record",
			run: func(t *testing.T, s *Store) version.Siblings {
				mustPut(t, s, "k", "v1")
				ss, err := s.Update(ctx, []byte("k"), func(version.Siblings) (version.Siblings, error) { return nil, nil })
				require.NoError(t, err)
				require.Empty(t, ss)
				return nil
			},
		},
		{
			name: "other keys untouched",
			run: func(t *testing.T, s *Store) version.Siblings {
				mustPut(t, s, "k", "v1")
				mustPut(t, s, "k2", "other")
				mustPut(t, s, "", "empty key")
				mustPut(t, s, "k\x00", "binary key")
				ss, err := s.Get(ctx, []byte("k2"))
				require.NoError(t, err)
				require.Equal(t, []string{"other"}, liveValues(ss))
				ss, err = s.Get(ctx, nil)
				require.NoError(t, err)
				require.Equal(t, []string{"empty key"}, liveValues(ss))
				return mustPut(t, s, "k", "v2")
			},
			value: "v2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, fs := openMem(t, DurabilityFsync)
			want := tt.run(t, s)
			check := func(s *Store) {
				got, err := s.Get(ctx, []byte("k"))
				require.NoError(t, err)
				require.Equal(t, canonSibs(want), canonSibs(got))
				v, ok := got.Value()
				require.Equal(t, tt.value != "", ok)
				require.Equal(t, tt.value, string(v))
			}
			check(s)
			check(reopenStore(t, s, fs, DurabilityFsync))
		})
	}
}

func TestStore_GetResultIsTheCallers(t *testing.T) {
	ctx := context.Background()
	s, _ := openMem(t, DurabilityNone)
	mustPut(t, s, "k", "value")
	ss, err := s.Get(ctx, []byte("k"))
	require.NoError(t, err)
	ss[0].Value[0] = 'X'
	ss, err = s.Get(ctx, []byte("k"))
	require.NoError(t, err)
	require.Equal(t, []string{"value"}, liveValues(ss))
}

// TestStore_UpdateWritesNothing covers the updates that must not write:
// errors from fn, and results with the versions already stored.
func TestStore_UpdateWritesNothing(t *testing.T) {
	ctx := context.Background()
	errBoom := errors.New("boom")
	tests := []struct {
		name    string
		fn      func(s *Store) func(cur version.Siblings) (version.Siblings, error)
		wantErr error
	}{
		{
			name: "fn error",
			fn: func(*Store) func(version.Siblings) (version.Siblings, error) {
				return func(version.Siblings) (version.Siblings, error) { return nil, errBoom }
			},
			wantErr: errBoom,
		},
		{
			name: "fn error after computing a result",
			fn: func(s *Store) func(version.Siblings) (version.Siblings, error) {
				return func(cur version.Siblings) (version.Siblings, error) {
					return version.Update(cur, s.Actor(), nil, 1, []byte("never"), false), fmt.Errorf("wrapped: %w", ErrAborted)
				}
			},
			wantErr: ErrAborted,
		},
		{
			name: "same set",
			fn: func(*Store) func(version.Siblings) (version.Siblings, error) {
				return func(cur version.Siblings) (version.Siblings, error) { return cur, nil }
			},
		},
		{
			name: "same dots, other contents",
			fn: func(*Store) func(version.Siblings) (version.Siblings, error) {
				return func(cur version.Siblings) (version.Siblings, error) {
					next := canonSibs(cur)
					next[0].Value = []byte("changed")
					return next, nil
				}
			},
		},
		{
			name: "merge of what is stored",
			fn: func(*Store) func(version.Siblings) (version.Siblings, error) {
				return func(cur version.Siblings) (version.Siblings, error) { return version.Sync(cur, cur[:1]), nil }
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openMem(t, DurabilityNone)
			before := mustPut(t, s, "k", "v1")
			writes := s.Stats().Writes
			got, err := s.Update(ctx, []byte("k"), tt.fn(s))
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				require.Nil(t, got)
			} else {
				require.NoError(t, err)
				require.Equal(t, canonSibs(before), canonSibs(got))
			}
			require.Equal(t, writes, s.Stats().Writes, "Update wrote")
			stored, err := s.Get(ctx, []byte("k"))
			require.NoError(t, err)
			require.Equal(t, canonSibs(before), canonSibs(stored))
		})
	}
	t.Run("no-op on a missing key", func(t *testing.T) {
		s, _ := openMem(t, DurabilityNone)
		got, err := s.Update(ctx, []byte("k"), func(cur version.Siblings) (version.Siblings, error) { return version.Siblings{}, nil })
		require.NoError(t, err)
		require.Empty(t, got)
		require.Zero(t, s.Stats().Writes)
	})
}

func TestStore_Merge(t *testing.T) {
	ctx := context.Background()
	// Another replica's writes to merge in.
	other, _ := openMem(t, DurabilityNone)
	mustPut(t, other, "k", "theirs")
	theirs, err := other.Get(ctx, []byte("k"))
	require.NoError(t, err)
	successor, err := other.Update(ctx, []byte("k2"), func(version.Siblings) (version.Siblings, error) {
		return version.Update(nil, other.Actor(), theirs.Context(), 5, []byte("successor"), false), nil
	})
	require.NoError(t, err)

	s, fs := openMem(t, DurabilityNone)
	mustPut(t, s, "k", "ours")
	w0 := s.Stats().Writes

	got, err := s.Merge(ctx, []byte("k"), theirs)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"ours", "theirs"}, liveValues(got))
	require.Equal(t, w0+1, s.Stats().Writes)

	again, err := s.Merge(ctx, []byte("k"), theirs)
	require.NoError(t, err)
	require.Equal(t, canonSibs(got), canonSibs(again))
	require.Equal(t, w0+1, s.Stats().Writes, "merging the same set twice wrote twice")

	_, err = s.Merge(ctx, []byte("k"), nil)
	require.NoError(t, err)
	require.Equal(t, w0+1, s.Stats().Writes, "merging nothing wrote")

	got, err = s.Merge(ctx, []byte("k"), successor)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"ours", "successor"}, liveValues(got), "the successor replaces only what its context covers")
	require.Equal(t, w0+2, s.Stats().Writes)

	s = reopenStore(t, s, fs, DurabilityNone)
	stored, err := s.Get(ctx, []byte("k"))
	require.NoError(t, err)
	require.Equal(t, canonSibs(got), canonSibs(stored))
}

// TestStore_StatsKeys follows the live-key count through sets, deletes and
// sibling cases, and checks that a reopen recomputes the same count.
func TestStore_StatsKeys(t *testing.T) {
	ctx := context.Background()
	s, fs := openMem(t, DurabilityFsync)
	write := func(key string, ctxFrom bool, ts int64, v string, tombstone bool) {
		t.Helper()
		_, err := s.Update(ctx, []byte(key), func(cur version.Siblings) (version.Siblings, error) {
			var c version.VV
			if ctxFrom {
				c = cur.Context()
			}
			return version.Update(cur, s.Actor(), c, ts, []byte(v), tombstone), nil
		})
		require.NoError(t, err)
	}
	steps := []struct {
		name string
		do   func()
		keys int64
	}{
		{name: "set a", do: func() { write("a", true, 1, "1", false) }, keys: 1},
		{name: "set b", do: func() { write("b", true, 1, "1", false) }, keys: 2},
		{name: "overwrite a", do: func() { write("a", true, 2, "2", false) }, keys: 2},
		{name: "delete a", do: func() { write("a", true, 3, "", true) }, keys: 1},
		{name: "delete a again", do: func() { write("a", true, 4, "", true) }, keys: 1},
		{name: "delete never-set c", do: func() { write("c", true, 1, "", true) }, keys: 1},
		{name: "concurrent value on b", do: func() { write("b", false, 5, "2", false) }, keys: 1},
		{name: "concurrent later tombstone on b hides it", do: func() { write("b", false, 10, "", true) }, keys: 0},
		{name: "concurrent later value on b shows it", do: func() { write("b", false, 20, "3", false) }, keys: 1},
		{name: "concurrent earlier value on a stays hidden", do: func() { write("a", false, 0, "x", false) }, keys: 1},
		{name: "resolve a with a value", do: func() { write("a", true, 0, "y", false) }, keys: 2},
		{name: "remove b's record", do: func() {
			_, err := s.Update(ctx, []byte("b"), func(version.Siblings) (version.Siblings, error) { return nil, nil })
			require.NoError(t, err)
		}, keys: 1},
		{name: "merge a live key d", do: func() {
			_, err := s.Merge(ctx, []byte("d"), version.Siblings{valSib(99, 1, nil, 1, "d")})
			require.NoError(t, err)
		}, keys: 2},
	}
	for _, st := range steps {
		st.do()
		require.Equal(t, st.keys, s.Stats().Keys, "after %q", st.name)
	}
	s = reopenStore(t, s, fs, DurabilityFsync)
	require.Equal(t, int64(2), s.Stats().Keys, "after reopen")
	require.Zero(t, s.Stats().Writes, "counters start at Open")
}

func TestStore_Stats(t *testing.T) {
	ctx := context.Background()
	s, _ := openMem(t, DurabilityNone)
	mustPut(t, s, "a", "1")
	mustPut(t, s, "a", "2")
	for range 3 {
		_, err := s.Get(ctx, []byte("a"))
		require.NoError(t, err)
	}
	st := s.Stats()
	require.Equal(t, admin.StoreStats{Keys: 1, Reads: 3, Writes: 2, DiskBytes: st.DiskBytes}, st)
	require.Positive(t, st.DiskBytes)
}

func TestStore_ActorIdentity(t *testing.T) {
	tests := []struct {
		name string
		same bool
		next func(t *testing.T, s *Store, fs vfs.FS) *Store
	}{
		{
			name: "stable across reopen",
			same: true,
			next: func(t *testing.T, s *Store, fs vfs.FS) *Store { return reopenStore(t, s, fs, DurabilityFsync) },
		},
		{
			name: "new for a wiped directory",
			next: func(t *testing.T, s *Store, fs vfs.FS) *Store {
				require.NoError(t, s.Close())
				require.NoError(t, fs.RemoveAll("db"))
				s2, err := Open(Config{Dir: "db", FS: fs, Durability: DurabilityFsync})
				require.NoError(t, err)
				t.Cleanup(func() { _ = s2.Close() })
				return s2
			},
		},
		{
			name: "new for a fresh filesystem",
			next: func(t *testing.T, s *Store, fs vfs.FS) *Store {
				s2, _ := openMem(t, DurabilityFsync)
				return s2
			},
		},
		{
			name: "new for another directory",
			next: func(t *testing.T, s *Store, fs vfs.FS) *Store {
				s2, err := Open(Config{Dir: "db2", FS: fs, Durability: DurabilityFsync})
				require.NoError(t, err)
				t.Cleanup(func() { _ = s2.Close() })
				return s2
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, fs := openMem(t, DurabilityFsync)
			a := s.Actor()
			require.NotZero(t, a)
			require.Equal(t, a, mustPut(t, s, "k", "v")[0].Dot.Actor, "writes are coordinated as the store's actor")
			s2 := tt.next(t, s, fs)
			require.NotZero(t, s2.Actor())
			require.Equal(t, tt.same, a == s2.Actor(), "actor %x, then %x", a, s2.Actor())
		})
	}
}

// TestStore_CorruptRecord plants undecodable records under the data key
// space: reads report ErrCorruptRecord, writes refuse to replace them, the
// bytes stay as they are, and other keys work.
func TestStore_CorruptRecord(t *testing.T) {
	ctx := context.Background()
	good := version.EncodeRecord(version.Siblings{valSib(1, 1, nil, 1, "x")})
	flipped := slices.Clone(good)
	flipped[3] ^= 1
	tests := []struct {
		name string
		raw  []byte
	}{
		{name: "garbage", raw: []byte("not a record")},
		{name: "empty", raw: []byte{}},
		{name: "bit flip", raw: flipped},
		{name: "truncated", raw: good[:len(good)-1]},
		{name: "checksummed but invalid", raw: withCRC(version.RecordFormat, rawRecord(rawSibling{actor: 1, counter: 0}))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, fs := openMem(t, DurabilityFsync)
			mustPut(t, s, "good", "v")
			require.NoError(t, s.Close())
			rawSet(t, fs, dataKey([]byte("bad")), tt.raw)

			s, err := Open(Config{Dir: "db", FS: fs, Durability: DurabilityFsync})
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			require.Equal(t, admin.StoreStats{Keys: 1, CorruptRecords: 1}, withoutDisk(s.Stats()), "Open counts live keys and skips the corrupt one")

			ss, err := s.Get(ctx, []byte("bad"))
			require.ErrorIs(t, err, version.ErrCorruptRecord)
			require.Nil(t, ss)

			called := false
			ss, err = s.Update(ctx, []byte("bad"), func(cur version.Siblings) (version.Siblings, error) {
				called = true
				return version.Update(cur, s.Actor(), nil, 1, []byte("overwrite"), false), nil
			})
			require.ErrorIs(t, err, version.ErrCorruptRecord)
			require.Nil(t, ss)
			require.False(t, called, "fn ran on a corrupt record")

			_, err = s.Merge(ctx, []byte("bad"), version.Siblings{valSib(2, 1, nil, 1, "y")})
			require.ErrorIs(t, err, version.ErrCorruptRecord)

			mustPut(t, s, "good", "v2")
			mustPut(t, s, "other", "v")
			ss, err = s.Get(ctx, []byte("good"))
			require.NoError(t, err)
			require.Equal(t, []string{"v2"}, liveValues(ss))
			require.Equal(t, int64(2), s.Stats().Keys)
			require.Equal(t, int64(2), s.Stats().Writes)
			require.Equal(t, int64(4), s.Stats().CorruptRecords)

			require.NoError(t, s.Close())
			require.Equal(t, tt.raw, rawGet(t, fs, dataKey([]byte("bad"))), "corrupt record changed on disk")
		})
	}
}

func withoutDisk(st admin.StoreStats) admin.StoreStats {
	st.DiskBytes = 0
	return st
}

func TestStore_CorruptActor(t *testing.T) {
	tests := []struct {
		name string
		raw  []byte
	}{
		{name: "short", raw: []byte{1, 2, 3}},
		{name: "long", raw: make([]byte, 9)},
		{name: "zero", raw: make([]byte, 8)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, fs := openMem(t, DurabilityNone)
			require.NoError(t, s.Close())
			rawSet(t, fs, metaActor, tt.raw)
			s, err := Open(Config{Dir: "db", FS: fs, Durability: DurabilityNone})
			require.ErrorIs(t, err, version.ErrCorruptRecord)
			require.Nil(t, s)
			require.Equal(t, tt.raw, rawGet(t, fs, metaActor), "Open replaced a corrupt actor identity")
		})
	}
}

func TestStore_Closed(t *testing.T) {
	ctx := context.Background()
	ops := []struct {
		name string
		op   func(s *Store) error
	}{
		{name: "Get", op: func(s *Store) error { _, err := s.Get(ctx, []byte("k")); return err }},
		{name: "Update", op: func(s *Store) error {
			_, err := s.Update(ctx, []byte("k"), func(cur version.Siblings) (version.Siblings, error) {
				panic("fn called after Close")
			})
			return err
		}},
		{name: "Merge", op: func(s *Store) error {
			_, err := s.Merge(ctx, []byte("k"), version.Siblings{valSib(1, 1, nil, 1, "x")})
			return err
		}},
		{name: "Close", op: func(s *Store) error { return s.Close() }},
	}
	for _, tt := range ops {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openMem(t, DurabilityNone)
			mustPut(t, s, "k", "v")
			require.NoError(t, s.Close())
			require.ErrorIs(t, tt.op(s), ErrClosed)
			require.ErrorIs(t, tt.op(s), ErrClosed)
			st := s.Stats()
			require.Equal(t, admin.StoreStats{Keys: 1, Writes: 1}, st, "Stats after Close")
		})
	}
}

func TestStore_CanceledContext(t *testing.T) {
	s, _ := openMem(t, DurabilityNone)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Get(ctx, []byte("k"))
	require.ErrorIs(t, err, context.Canceled)
	_, err = s.Update(ctx, []byte("k"), func(version.Siblings) (version.Siblings, error) { panic("fn called with a canceled context") })
	require.ErrorIs(t, err, context.Canceled)
	_, err = s.Merge(ctx, []byte("k"), version.Siblings{valSib(1, 1, nil, 1, "x")})
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, admin.StoreStats{}, withoutDisk(s.Stats()))
}

// TestStore_ConcurrentUpdates runs many goroutines against one key: Update
// is atomic per key, so none of their writes is lost.
func TestStore_ConcurrentUpdates(t *testing.T) {
	const goroutines, each = 8, 25
	ctx := context.Background()
	tests := []struct {
		name     string
		withRead bool // use the current siblings' context (read-modify-write under the lock)
	}{
		{name: "blind writes all become siblings", withRead: false},
		{name: "read-modify-writes serialize", withRead: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, fs := openMem(t, DurabilityProcess)
			var wg sync.WaitGroup
			errs := make(chan error, goroutines)
			for g := range goroutines {
				wg.Go(func() {
					for i := range each {
						_, err := s.Update(ctx, []byte("cart"), func(cur version.Siblings) (version.Siblings, error) {
							var c version.VV
							if tt.withRead {
								c = cur.Context()
							}
							return version.Update(cur, s.Actor(), c, int64(i), fmt.Appendf(nil, "g%d.%d", g, i), false), nil
						})
						if err != nil {
							errs <- err
							return
						}
						// Readers run alongside.
						if _, err := s.Get(ctx, []byte("cart")); err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			s = reopenStore(t, s, fs, DurabilityProcess)
			ss, err := s.Get(ctx, []byte("cart"))
			require.NoError(t, err)
			checkInvariants(t, ss)
			if tt.withRead {
				require.Len(t, ss, 1)
				require.Equal(t, version.Dot{Actor: s.Actor(), Counter: goroutines * each}, ss[0].Dot, "every write took the next counter")
				return
			}
			var want []string
			for g := range goroutines {
				for i := range each {
					want = append(want, fmt.Sprintf("g%d.%d", g, i))
				}
			}
			require.ElementsMatch(t, want, liveValues(ss))
		})
	}
}

// TestStore_CloseWhileWriting closes the store under load: every operation
// either completes or reports ErrClosed, and every acknowledged write is
// there after reopening.
func TestStore_CloseWhileWriting(t *testing.T) {
	const goroutines = 4
	ctx := context.Background()
	s, fs := openMem(t, DurabilityFsync)
	acked := make([][]string, goroutines)
	started := make(chan struct{}, goroutines)
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			for i := 0; ; i++ {
				key := fmt.Sprintf("g%d.%d", g, i)
				_, err := s.Update(ctx, []byte(key), func(cur version.Siblings) (version.Siblings, error) {
					return version.Update(cur, s.Actor(), cur.Context(), 1, []byte(key), false), nil
				})
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					errs <- err
					return
				}
				acked[g] = append(acked[g], key)
				if i == 10 {
					started <- struct{}{}
				}
			}
		})
	}
	for range goroutines {
		<-started
	}
	require.NoError(t, s.Close())
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	s, err := Open(Config{Dir: "db", FS: fs, Durability: DurabilityFsync})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	n := 0
	for _, keys := range acked {
		for _, k := range keys {
			ss, err := s.Get(ctx, []byte(k))
			require.NoError(t, err)
			require.Equal(t, []string{k}, liveValues(ss))
			n++
		}
	}
	require.Equal(t, int64(n), s.Stats().Keys)
}

func TestStore_OSDirectory(t *testing.T) {
	ctx := context.Background()
	for _, d := range []Durability{DurabilityNone, DurabilityProcess, DurabilityFsync} {
		t.Run(string(d), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Dir = t.TempDir()
			cfg.Durability = d
			cfg.CacheBytes = 1 << 20
			s, err := Open(cfg)
			require.NoError(t, err)
			a := s.Actor()
			for i := range 50 {
				mustPut(t, s, fmt.Sprint(i), "v")
			}
			require.NoError(t, s.Close())
			s, err = Open(cfg)
			require.NoError(t, err)
			defer s.Close()
			require.Equal(t, a, s.Actor())
			require.Equal(t, int64(50), s.Stats().Keys)
			ss, err := s.Get(ctx, []byte("7"))
			require.NoError(t, err)
			require.Equal(t, []string{"v"}, liveValues(ss))
		})
	}
}

func TestConfig_Validate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string // substring naming the field; "" for valid
	}{
		{name: "default", mutate: func(*Config) {}},
		{name: "no cache", mutate: func(c *Config) { c.CacheBytes = 0 }},
		{name: "durability none", mutate: func(c *Config) { c.Durability = DurabilityNone }},
		{name: "durability fsync", mutate: func(c *Config) { c.Durability = DurabilityFsync }},
		{name: "empty dir", mutate: func(c *Config) { c.Dir = "" }, wantErr: "dir"},
		{name: "unknown durability", mutate: func(c *Config) { c.Durability = "sometimes" }, wantErr: "durability"},
		{name: "empty durability", mutate: func(c *Config) { c.Durability = "" }, wantErr: "durability"},
		{name: "negative cache", mutate: func(c *Config) { c.CacheBytes = -1 }, wantErr: "cache"},
		{name: "default close timeout", mutate: func(c *Config) { c.CloseTimeout = 0 }},
		{name: "negative close timeout", mutate: func(c *Config) { c.CloseTimeout = -1 }, wantErr: "close timeout"},
		{name: "default probe interval", mutate: func(c *Config) { c.ProbeInterval = 0 }},
		{name: "negative probe interval", mutate: func(c *Config) { c.ProbeInterval = -1 }, wantErr: "probe interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.mutate(&cfg)
			err := cfg.Validate()
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
			cfg.FS = vfs.NewMem()
			s, err := Open(cfg)
			require.ErrorContains(t, err, tt.wantErr)
			require.Nil(t, s)
		})
	}
	require.Equal(t, Config{Dir: "dynkv-data", Storage: StoragePebble, Durability: DurabilityProcess, CacheBytes: 64 << 20, RecordCacheBytes: 64 << 20,
		MaxHints: 1_000_000, CloseTimeout: 10 * time.Second, ProbeInterval: time.Second}, DefaultConfig())
}
