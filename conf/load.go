package conf

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/dynkv/dynkv/replica"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// Source says where Load finds settings besides the environment.
type Source struct {
	// File is a configuration file, YAML (.yaml, .yml) or TOML (.toml);
	// empty means none.
	File string
	// Flags holds the flags registered by RegisterFlags, after parsing; nil
	// means none. Only flags that were set on the command line count.
	Flags *pflag.FlagSet
}

// RegisterFlags adds one flag per key to fs, named as the key, showing the
// key's default and environment variable in its usage.
func RegisterFlags(fs *pflag.FlagSet) {
	def := DefaultConfig()
	for _, k := range Keys() {
		v := &flagValue{typ: k.Type}
		if !k.Secret {
			v.s = k.get(def)
		}
		fs.Var(v, k.Name, fmt.Sprintf("%s (env %s)", k.Usage, k.Env()))
	}
}

// flagValue is a flag holding a key's text form; Load parses it. Its Type
// is deliberately none of the names viper converts itself ("int", "bool"),
// so that viper hands Load the text as typed.
type flagValue struct {
	s   string
	typ string
}

func (f *flagValue) String() string     { return f.s }
func (f *flagValue) Set(s string) error { f.s = s; return nil }
func (f *flagValue) Type() string {
	if f.typ == "int" {
		return "integer"
	}
	return f.typ
}

// Load builds a Config from DefaultConfig, the file and environment
// variables and flags of src (see the package documentation for their
// precedence), and validates it. Errors name the key concerned.
func Load(src Source) (Config, error) {
	v := viper.New()
	keys := Keys()
	for _, k := range keys {
		if err := v.BindEnv(k.Name, k.Env()); err != nil {
			return Config{}, fmt.Errorf("conf: bind %s: %w", k.Env(), err)
		}
		if src.Flags != nil {
			if f := src.Flags.Lookup(k.Name); f != nil {
				if err := v.BindPFlag(k.Name, f); err != nil {
					return Config{}, fmt.Errorf("conf: bind --%s: %w", k.Name, err)
				}
			}
		}
	}
	var file *viper.Viper
	if src.File != "" {
		var err error
		if file, err = readFile(src.File, keys); err != nil {
			return Config{}, err
		}
		if err := v.MergeConfigMap(file.AllSettings()); err != nil {
			return Config{}, fmt.Errorf("conf: %s: %w", src.File, err)
		}
	}

	c := DefaultConfig()
	durabilityGiven := false
	for _, k := range keys {
		raw := v.Get(k.Name)
		if raw == nil {
			continue // the default stands
		}
		durabilityGiven = durabilityGiven || k.Name == "durability" && source(k, src, file) != "default"
		s, err := scalar(raw)
		if err == nil {
			err = k.set(&c, s)
		}
		if err != nil {
			return Config{}, &KeyError{Key: k.Name, Source: source(k, src, file), Err: err}
		}
	}
	if c.Replica.Storage == replica.StorageMemory && !durabilityGiven {
		// Nothing in memory survives the process: the default durability
		// (process) would promise what the engine cannot keep.
		c.Replica.Durability = replica.DurabilityNone
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// readFile reads a configuration file into a viper of its own, so that its
// keys can be checked against keys.
func readFile(path string, keys []Key) (*viper.Viper, error) {
	f := viper.New()
	ext := strings.ToLower(filepath.Ext(path))
	switch ext {
	case ".yaml", ".yml", ".toml":
	default:
		return nil, fmt.Errorf("config file %s: unsupported extension %q; use .yaml, .yml or .toml", path, ext)
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	f.SetConfigFile(path)
	if err := f.ReadInConfig(); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	var unknown []string
	for _, name := range f.AllKeys() {
		if !slices.ContainsFunc(keys, func(k Key) bool { return k.Name == name }) {
			unknown = append(unknown, fmt.Sprintf("%q", name))
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, fmt.Errorf("config file %s: %w %s (dynkv serve --help lists the keys)", path, ErrUnknownKey, strings.Join(unknown, ", "))
	}
	return f, nil
}

// scalar returns the text form of a single value from a file, flag,
// variable or default. Lists and tables are refused.
func scalar(raw any) (string, error) {
	switch x := raw.(type) {
	case string:
		return x, nil
	case []any, map[string]any:
		return "", fmt.Errorf("must be a single value, got %v", x)
	default:
		return fmt.Sprint(x), nil
	}
}

// source says where the value of k came from, following viper's
// precedence.
func source(k Key, src Source, file *viper.Viper) string {
	if src.Flags != nil {
		if f := src.Flags.Lookup(k.Name); f != nil && f.Changed {
			return "flag --" + k.Name
		}
	}
	if os.Getenv(k.Env()) != "" {
		return "environment variable " + k.Env()
	}
	if file != nil && file.IsSet(k.Name) {
		return "config file " + src.File
	}
	return "default"
}
