package conf

import (
	"errors"
	"fmt"
)

// ErrUnknownKey is reported (wrapped) when a configuration file holds a key
// that is not one of Keys.
var ErrUnknownKey = errors.New("unknown key")

// KeyError reports a value that could not be parsed for a key.
type KeyError struct {
	Key    string // the key's name
	Source string // where the value came from: a flag, a variable, a file
	Err    error  // what is wrong with the value; does not name the key
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("%s: %v (from %s)", e.Key, e.Err, e.Source)
}

func (e *KeyError) Unwrap() error { return e.Err }
