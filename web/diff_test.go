package web

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// lcs is the length of a longest common subsequence, by dynamic
// programming: a shortest diff keeps exactly that many lines.
func lcs(a, b []string) int {
	prev := make([]int, len(b)+1)
	for i := range a {
		cur := make([]int, len(b)+1)
		for j := range b {
			if a[i] == b[j] {
				cur[j+1] = prev[j] + 1
			} else {
				cur[j+1] = max(prev[j+1], cur[j])
			}
		}
		prev = cur
	}
	return prev[len(b)]
}

func checkDiff(t *testing.T, a, b []string, minimal bool) {
	t.Helper()
	lines := diffLines(a, b)
	var gotA, gotB []string
	kept := 0
	for _, l := range lines {
		if l.Op != "+" {
			gotA = append(gotA, l.Text)
			if l.Old != len(gotA) {
				t.Fatalf("line %+v: old number, want %d", l, len(gotA))
			}
		}
		if l.Op != "-" {
			gotB = append(gotB, l.Text)
			if l.New != len(gotB) {
				t.Fatalf("line %+v: new number, want %d", l, len(gotB))
			}
		}
		if l.Op == " " {
			kept++
		}
	}
	if !slices.Equal(gotA, a) || !slices.Equal(gotB, b) {
		t.Fatalf("diff of %q and %q does not rebuild them: %+v", a, b, lines)
	}
	if want := lcs(a, b); minimal && kept != want {
		t.Fatalf("diff of %q and %q keeps %d lines, a shortest keeps %d", a, b, kept, want)
	}
}

func TestDiffIsShortest(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	gen := func() []string {
		n := rng.IntN(12)
		out := make([]string, n)
		for i := range out {
			out[i] = strconv.Itoa(rng.IntN(4))
		}
		return out
	}
	checkDiff(t, nil, nil, true)
	checkDiff(t, []string{"a"}, nil, true)
	checkDiff(t, nil, []string{"a"}, true)
	for range 5000 {
		checkDiff(t, gen(), gen(), true)
	}
}

func TestDiffPastMaxEdits(t *testing.T) {
	a := make([]string, 3*maxEdits)
	b := make([]string, 3*maxEdits)
	for i := range a {
		a[i], b[i] = "a"+strconv.Itoa(i), "b"+strconv.Itoa(i)
	}
	a[0], b[0] = "same", "same"
	a[len(a)-1], b[len(b)-1] = "end", "end"
	checkDiff(t, a, b, false)
}

func TestUnified(t *testing.T) {
	a := splitLines("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n")
	b := splitLines("1\n2\nthree\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n15\n16\n")
	got := unified(diffLines(a, b), "a/x", "b/x", 3)
	want := `--- a/x
+++ b/x
@@ -1,6 +1,6 @@
 1
 2
-3
+three
 4
 5
 6
@@ -11,5 +11,5 @@
 11
 12
 13
-14
 15
+16
`
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if got := unified(diffLines(nil, []string{"x"}), "a", "b", 3); got != "--- a\n+++ b\n@@ -0,0 +1,1 @@\n+x\n" {
		t.Fatalf("from nothing: %q", got)
	}
	if got := unified(diffLines(a, a), "a", "b", 3); got != "" {
		t.Fatalf("no change: %q", got)
	}
}
