package peer

import (
	"context"
	"errors"

	"github.com/dynkv/dynkv/errdefs"
	"github.com/dynkv/dynkv/version"
)

// codes is the one two-way table of the errors a peer response carries:
// the store's, the coordinator's (forwarded writes) and the transport's.
// An error without a code travels as ErrRemote. Renumbering the table, or
// giving a code to another error, bumps ProtocolVersion (version 1 had two
// tables, for store ops and for forwarded writes). A new code appended at
// the end does not: a node that does not know it reads it as ErrRemote,
// what the error travelled as before (15, 16 and 17 were appended so).
var codes = []struct {
	code byte
	err  error
}{
	{1, errdefs.ErrStoreClosed},
	{2, version.ErrCorruptRecord},
	{3, errdefs.ErrBadRequest},
	{4, context.DeadlineExceeded},
	{5, context.Canceled},
	{6, errdefs.ErrRemote},
	{7, errdefs.ErrHintsFull},
	{8, errdefs.ErrCondition},
	{9, errdefs.ErrQuorum},
	{10, errdefs.ErrBadQuorum},
	{11, version.ErrInvalidContext},
	{12, errdefs.ErrTooLarge},
	{13, version.ErrTooManyVersions},
	{14, errdefs.ErrForwardUnknown},
	{15, errdefs.ErrDiskFull},
	{16, errdefs.ErrDiskIO},
	{17, errdefs.ErrNotDurable},
}

// Code returns the code of err: the first error of the table err is (as
// errors.Is tells), else the code of ErrRemote. It is never 0, which
// responses use for success.
func Code(err error) byte {
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return 6
}

// Err returns the error of code, or ErrRemote for a code it does not know.
func Err(code byte) error {
	for _, c := range codes {
		if c.code == code {
			return c.err
		}
	}
	return ErrRemote
}
