package web

import (
	"fmt"
	"strings"

	"github.com/ripcord-dr/ripcord/client"
)

// maxEdits bounds the edit distance the diff searches for a shortest
// script (Myers' algorithm: O((N+M)·D) time, O(D²) memory, 8 MB at most).
// Past it, the lines between the common beginning and end are shown as
// removed and added: a correct diff, if not a minimal one.
const maxEdits = 1000

// splitLines splits text into lines; a final newline ends the last line
// rather than starting an empty one.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// diffLines returns a shortest line diff from a to b.
func diffLines(a, b []string) []client.DiffLine {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	ops := myers(a[pre:len(a)-suf], b[pre:len(b)-suf])

	out := make([]client.DiffLine, 0, len(a)+len(b))
	i, j := 0, 0 // lines of a and b used
	keep := func() {
		out = append(out, client.DiffLine{Op: " ", Old: i + 1, New: j + 1, Text: a[i]})
		i, j = i+1, j+1
	}
	for range pre {
		keep()
	}
	for _, op := range ops {
		switch op {
		case ' ':
			keep()
		case '-':
			out = append(out, client.DiffLine{Op: "-", Old: i + 1, Text: a[i]})
			i++
		case '+':
			out = append(out, client.DiffLine{Op: "+", New: j + 1, Text: b[j]})
			j++
		}
	}
	for range suf {
		keep()
	}
	return out
}

// myers returns the edit script from a to b: ' ' keeps a line, '-'
// removes one of a, '+' adds one of b.
func myers(a, b []string) []byte {
	n, m := len(a), len(b)
	if n == 0 || m == 0 {
		return replaceAll(n, m)
	}
	limit := min(n+m, maxEdits)
	off := limit + 1
	v := make([]int, 2*limit+3) // v[off+k]: the furthest x on diagonal k
	var trace [][]int           // trace[d]: v[off-d-1 .. off+d+1] before step d
	for d := 0; d <= limit; d++ {
		trace = append(trace, append([]int(nil), v[off-d-1:off+d+2]...))
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = v[off+k+1] // down: add b[y]
			} else {
				x = v[off+k-1] + 1 // right: remove a[x]
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x, y = x+1, y+1
			}
			v[off+k] = x
			if x >= n && y >= m {
				return backtrack(trace, n, m, d)
			}
		}
	}
	return replaceAll(n, m)
}

// backtrack follows the trace back from (n, m), which step d reached.
func backtrack(trace [][]int, n, m, d int) []byte {
	var ops []byte
	x, y := n, m
	for ; d >= 0; d-- {
		tv := trace[d]
		at := func(k int) int { return tv[k+d+1] }
		k := x - y
		pk := k - 1 // came right: removed a line of a
		if k == -d || (k != d && at(k-1) < at(k+1)) {
			pk = k + 1 // came down: added a line of b
		}
		px := at(pk)
		py := px - pk
		for x > px && y > py {
			ops = append(ops, ' ')
			x, y = x-1, y-1
		}
		if d == 0 {
			break
		}
		if x == px {
			ops = append(ops, '+')
		} else {
			ops = append(ops, '-')
		}
		x, y = px, py
	}
	for l, r := 0, len(ops)-1; l < r; l, r = l+1, r-1 {
		ops[l], ops[r] = ops[r], ops[l]
	}
	return ops
}

func replaceAll(n, m int) []byte {
	ops := make([]byte, 0, n+m)
	for range n {
		ops = append(ops, '-')
	}
	for range m {
		ops = append(ops, '+')
	}
	return ops
}

// unified prints lines as a unified diff with ctx lines of context; "" when
// nothing changed.
func unified(lines []client.DiffLine, from, to string, ctx int) string {
	var changed []int
	for i, l := range lines {
		if l.Op != " " {
			changed = append(changed, i)
		}
	}
	if len(changed) == 0 {
		return ""
	}
	// oldBefore[i] and newBefore[i]: lines of each side before lines[i].
	oldBefore := make([]int, len(lines)+1)
	newBefore := make([]int, len(lines)+1)
	for i, l := range lines {
		oldBefore[i+1], newBefore[i+1] = oldBefore[i], newBefore[i]
		if l.Op != "+" {
			oldBefore[i+1]++
		}
		if l.Op != "-" {
			newBefore[i+1]++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "--- %s\n+++ %s\n", from, to)
	for g := 0; g < len(changed); {
		last := g
		for last+1 < len(changed) && changed[last+1]-changed[last] <= 2*ctx+1 {
			last++
		}
		start := max(0, changed[g]-ctx)
		end := min(len(lines), changed[last]+ctx+1)
		oldN, newN := oldBefore[end]-oldBefore[start], newBefore[end]-newBefore[start]
		oldAt, newAt := oldBefore[start]+1, newBefore[start]+1
		if oldN == 0 {
			oldAt--
		}
		if newN == 0 {
			newAt--
		}
		fmt.Fprintf(&b, "@@ -%d,%d +%d,%d @@\n", oldAt, oldN, newAt, newN)
		for _, l := range lines[start:end] {
			b.WriteString(l.Op)
			b.WriteString(l.Text)
			b.WriteByte('\n')
		}
		g = last + 1
	}
	return b.String()
}
