package history

import (
	"slices"
	"strings"
)

// ParseItems adds the items of a stored cart value (a comma-separated item
// list) to the set s.
func ParseItems(s map[string]bool, value string) {
	for it := range strings.SplitSeq(value, ",") {
		if it != "" {
			s[it] = true
		}
	}
}

// FormatItems is the stored form of a set of items: sorted,
// comma-separated.
func FormatItems(s map[string]bool) string {
	items := make([]string, 0, len(s))
	for it := range s {
		items = append(items, it)
	}
	slices.Sort(items)
	return strings.Join(items, ",")
}
