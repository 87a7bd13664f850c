package replica

import (
	"context"
	"errors"
	"fmt"

	"github.com/dynkv/dynkv/engine"
)

// GetMeta returns the node metadata stored under name (such as the ring
// state), or nil if there is none.
func (s *Store) GetMeta(ctx context.Context, name string) ([]byte, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.open.RUnlock()
	v, closer, err := s.db.Get(metaKey(name))
	if errors.Is(err, engine.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("replica: get meta %s: %w", name, err)
	}
	defer closer.Close()
	return append([]byte(nil), v...), nil
}

// SetMeta stores value under name, durable against a machine crash
// whatever the durability mode. Meant for rare writes: it may flush.
func (s *Store) SetMeta(ctx context.Context, name string, value []byte) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.open.RUnlock()
	if err := s.setDurable(metaKey(name), value); err != nil {
		return fmt.Errorf("replica: set meta %s: %w", name, err)
	}
	return nil
}

func metaKey(name string) []byte { return append([]byte{spaceMeta, '/'}, name...) }
