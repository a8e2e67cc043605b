package plan

import (
	"fmt"
	"strings"
)

// suggest returns `did you mean "x"?` when one of candidates is one typo
// away from word (a letter added, dropped, changed or two swapped; case is
// ignored), else list followed by the candidates, or "" when list is empty
// or there are no candidates.
func suggest(word string, candidates []string, list string) string {
	best, bestDist := "", 2
	for _, c := range candidates {
		if d := distance(strings.ToLower(word), strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	switch {
	case best != "":
		return fmt.Sprintf("did you mean %q?", best)
	case list == "" || len(candidates) == 0:
		return ""
	}
	return list + strings.Join(candidates, ", ")
}

// distance is the optimal string alignment distance between a and b, in
// runes: the edits (insert, delete, substitute, swap two neighbours) that
// turn one into the other.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
