package main

import (
	"io"
	"log/slog"

	"github.com/dynkv/dynkv/conf"
)

// newLogger returns the node's logger, writing to w as configured.
func newLogger(c conf.LogConfig, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.Level}
	if c.Format == conf.LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// configAttrs returns the configuration as log attributes, secrets
// replaced by whether they are set.
func configAttrs(c conf.Config) []any {
	var attrs []any
	for _, k := range conf.Keys() {
		v := k.Value(c)
		if k.Secret {
			if v == "" {
				v = "(none)"
			} else {
				v = "(set)"
			}
		}
		attrs = append(attrs, slog.String(k.Name, v))
	}
	return attrs
}
