package history

import (
	"cmp"
	"slices"
)

// Counts counts operations by outcome.
type Counts struct {
	Ops, OK, Failed, Indeterminate int
}

// Count counts ops by outcome.
func Count(ops []Op) Counts {
	var c Counts
	for _, op := range ops {
		c.Ops++
		switch op.Outcome {
		case OK:
			c.OK++
		case Failed:
			c.Failed++
		case Indeterminate:
			c.Indeterminate++
		}
	}
	return c
}

// Reads is what the final reads of a run found: for each key, the set of
// items (or values) each read of it returned. A key with an entry but no
// reads was to be read and every read failed: the acknowledged operations
// on it count as lost. A key without an entry was not judged (its failed
// reads are reported elsewhere).
type Reads map[string][]map[string]bool

// Found is an item read at a key.
type Found struct {
	Key, Item string
}

// Verdict is the judgement of a history against the final reads.
type Verdict struct {
	// Lost are the acknowledged operations whose item is absent from a
	// read of their key, in history order.
	Lost []Op
	// Recovered are the operations sent but not acknowledged whose item is
	// present in every read of their key, in history order.
	Recovered []Op
	// Unexpected are the items read at a key no operation sent them to,
	// sorted by key and item, each once.
	Unexpected []Found
}

// Judge compares the final reads with the history: the promise "no
// acknowledged write is lost" holds when Lost and Unexpected are empty.
func Judge(ops []Op, reads Reads) Verdict {
	var v Verdict
	sentTo := map[string]string{} // item → the key it was sent to
	for _, op := range ops {
		if op.Sent {
			sentTo[op.Item] = op.Key
		}
	}
	for _, op := range ops {
		rs, judged := reads[op.Key]
		if !judged {
			continue
		}
		present := len(rs) > 0
		for _, rd := range rs {
			present = present && rd[op.Item]
		}
		switch {
		case op.Outcome == OK && !present:
			v.Lost = append(v.Lost, op)
		case op.Outcome != OK && op.Sent && present:
			v.Recovered = append(v.Recovered, op)
		}
	}
	seen := map[Found]bool{}
	for key, rs := range reads {
		for _, rd := range rs {
			for it := range rd {
				f := Found{Key: key, Item: it}
				if sentTo[it] != key && !seen[f] {
					seen[f] = true
					v.Unexpected = append(v.Unexpected, f)
				}
			}
		}
	}
	slices.SortFunc(v.Unexpected, func(a, b Found) int {
		return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.Item, b.Item))
	})
	return v
}

// Format returns key+sep+item for each of fs, sorted; nil if fs is empty.
func Format(fs []Found, sep string) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Key+sep+f.Item)
	}
	slices.Sort(out)
	return out
}
