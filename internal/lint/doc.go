// Package lint holds a test that enforces the house rules that go vet
// does not check: no fmt.Print* or the log package in library code, no
// time.Sleep in tests, no untyped sync/atomic functions, and viper only in
// conf and cmd. A line may opt out with a comment on it or the line above:
//
//	//lint:ignore Rule reason
package lint
