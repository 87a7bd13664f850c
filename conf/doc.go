// Package conf is the configuration of a dynkv node: one Config that nests
// the configs of the packages a node is built from (replica, coordinator,
// resp, peer, ring's gossip, antientropy) plus the node's own settings, and
// the loader that fills it.
//
// Every setting is a key with a dotted, lower-case name ("data.dir",
// "max-value-size"); Keys lists them all with their types and defaults.
// Load fills a Config from, in decreasing precedence:
//
//  1. command-line flags (--data.dir), registered by RegisterFlags;
//  2. environment variables: DYNKV_ followed by the key upper-cased with dots
//     and dashes turned into underscores (DYNKV_DATA_DIR,
//     DYNKV_MAX_VALUE_SIZE). An empty variable counts as unset;
//  3. an optional configuration file, YAML (.yaml, .yml) or TOML (.toml),
//     whose keys nest at the dots (data: {dir: x}) or are written whole;
//  4. DefaultConfig.
//
// Every value is parsed from its text form by the key's type (integers,
// sizes in bytes with optional suffixes, durations, enumerations), and the
// whole Config is validated before Load returns, so a node fails before it
// opens its store or binds a port. Every error names the key it is about,
// and where the bad value came from. A configuration file holding a key
// that is not in Keys is an error naming that key.
//
// Concurrency: Load has no state of its own; it reads the process
// environment and the given file and flags. Config is a plain value.
//
// Only this package and cmd use viper.
package conf
