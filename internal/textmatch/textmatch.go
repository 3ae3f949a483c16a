// Package textmatch finds the name a user most likely meant: the nearest
// candidate by edit distance, for "did you mean" hints in the spec
// language, run-log columns and controller specs.
package textmatch

import "strings"

// Suggest returns the candidate nearest to name when it is close enough to
// be a likely typo, else "". Distance is the optimal string alignment
// distance (Levenshtein plus adjacent transpositions) on lower-cased
// names; a candidate that starts with name (at least 3 letters) also
// counts, so "warm" suggests "warmup".
func Suggest(name string, candidates []string) string {
	lname := strings.ToLower(name)
	best, bestD := "", -1
	for _, c := range candidates {
		d := Distance(lname, strings.ToLower(c))
		if d < 0 {
			continue
		}
		if d >= len(c) || d >= len(lname) {
			continue // nothing in common: not a typo
		}
		if d <= maxTypos(len(c)) && 2*d <= len(lname) && (bestD < 0 || d < bestD) {
			best, bestD = c, d
		}
	}
	if best != "" {
		return best
	}
	if len(lname) >= 3 {
		for _, c := range candidates {
			if strings.HasPrefix(strings.ToLower(c), lname) {
				return c
			}
		}
	}
	return ""
}

// maxTypos is how many edits a name of n letters may be off and still be
// suggested.
func maxTypos(n int) int {
	switch {
	case n <= 3:
		return 1
	case n <= 6:
		return 2
	}
	return 3
}

// Distance is the optimal string alignment distance between a and b,
// in bytes. It returns -1 for long inputs, where a typo is unlikely and the
// quadratic table is not worth it.
func Distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return -1
	}
	// Three rows of the dynamic-programming table: i-2, i-1 and i.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
