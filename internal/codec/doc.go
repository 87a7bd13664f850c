// Package codec holds the primitives the decoders of outside bytes share:
// a Decoder that reads varints, fixed-size integers and length-prefixed
// byte strings and checks every length against the bytes actually present
// before allocating, so that garbage yields an error, never a panic or a
// huge allocation. The record and context codecs (package version) and the
// peer protocol (package peer) are built on it. It is a leaf: it imports
// nothing of dynkv.
//
// A Decoder is a value owned by one goroutine.
package codec
