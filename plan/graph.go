package plan

import (
	"container/heap"
	"fmt"
	"slices"
	"strings"

	"github.com/ripcord-dr/ripcord"
)

// Graph is the dependency graph of a plan's steps: each step points to the
// steps it is after. Waves are already steps, each after the previous wave.
// A Graph is read-only and safe for concurrent use.
type Graph struct {
	names      []string       // declaration order
	index      map[string]int // name -> first step with it
	after      [][]int        // direct dependencies, in the order of the step's after:
	dependents [][]int        // direct dependents, in declaration order
	order      []int          // topological
	unknown    [][2]int       // (step, index in After) of names that are no step
	self       []int          // steps after themselves
}

// NewGraph returns the graph of p. It fails with an EINVALID error when two
// steps share a name, when a step is after a step that does not exist, or
// when steps depend on each other in a cycle. A plan from [Decode] has none
// of these.
func NewGraph(p *ripcord.Plan) (*Graph, error) {
	g := buildGraph(p)
	var problems []string
	seen := map[string]bool{}
	for _, n := range g.names {
		if seen[n] {
			problems = append(problems, fmt.Sprintf("two steps are named %q", n))
		}
		seen[n] = true
	}
	for _, i := range g.self {
		problems = append(problems, fmt.Sprintf("step %q is after itself", g.names[i]))
	}
	for _, u := range g.unknown {
		problems = append(problems, fmt.Sprintf("step %q is after %q, which is no step of the plan", g.names[u[0]], p.Steps[u[0]].After[u[1]]))
	}
	for _, c := range g.cycles() {
		problems = append(problems, "dependency cycle: "+g.cycleString(c))
	}
	if len(problems) > 0 {
		return nil, &ripcord.Error{Code: ripcord.EINVALID,
			Message: fmt.Sprintf("plan %q: %s", p.Name, strings.Join(problems, "; ")),
			Hint:    "run ripcord validate on the plan file"}
	}
	g.order = g.topo()
	return g, nil
}

// buildGraph returns the graph of p without checking it: names that are no
// step go to unknown, steps after themselves to self; neither is an edge,
// and repeated names make one edge.
func buildGraph(p *ripcord.Plan) *Graph {
	g := &Graph{
		names:      make([]string, len(p.Steps)),
		index:      make(map[string]int, len(p.Steps)),
		after:      make([][]int, len(p.Steps)),
		dependents: make([][]int, len(p.Steps)),
	}
	for i, s := range p.Steps {
		g.names[i] = s.Name
		if _, dup := g.index[s.Name]; !dup {
			g.index[s.Name] = i
		}
	}
	for i, s := range p.Steps {
		for k, a := range s.After {
			j, ok := g.index[a]
			switch {
			case !ok:
				g.unknown = append(g.unknown, [2]int{i, k})
			case j == i && !slices.Contains(g.self, i):
				g.self = append(g.self, i)
			case j != i && !slices.Contains(g.after[i], j):
				g.after[i] = append(g.after[i], j)
				g.dependents[j] = append(g.dependents[j], i)
			}
		}
	}
	return g
}

func (g *Graph) namesOf(idx []int) []string {
	if len(idx) == 0 {
		return nil
	}
	out := make([]string, len(idx))
	for i, j := range idx {
		out[i] = g.names[j]
	}
	return out
}

// Steps returns the step names in declaration order.
func (g *Graph) Steps() []string { return slices.Clone(g.names) }

// Order returns the step names in a topological order: every step comes
// after the steps it is after. Among steps that could come next, the one
// declared first does.
func (g *Graph) Order() []string { return g.namesOf(g.order) }

// Roots returns the steps that are after no other step, in declaration
// order: the ones an execution starts with.
func (g *Graph) Roots() []string {
	var roots []int
	for i := range g.names {
		if len(g.after[i]) == 0 {
			roots = append(roots, i)
		}
	}
	return g.namesOf(roots)
}

// After returns the steps that step is directly after, or nil.
func (g *Graph) After(step string) []string {
	i, ok := g.index[step]
	if !ok {
		return nil
	}
	return g.namesOf(g.after[i])
}

// Dependents returns the steps directly after step, in declaration order,
// or nil. When step is done, these are the ones to look at.
func (g *Graph) Dependents(step string) []string {
	i, ok := g.index[step]
	if !ok {
		return nil
	}
	return g.namesOf(g.dependents[i])
}

// topo orders an acyclic graph (Kahn's algorithm, smallest index first).
func (g *Graph) topo() []int {
	waiting := make([]int, len(g.names))
	ready := &intHeap{}
	for i := range g.names {
		waiting[i] = len(g.after[i])
		if waiting[i] == 0 {
			heap.Push(ready, i)
		}
	}
	order := make([]int, 0, len(g.names))
	for ready.Len() > 0 {
		i := heap.Pop(ready).(int)
		order = append(order, i)
		for _, d := range g.dependents[i] {
			if waiting[d]--; waiting[d] == 0 {
				heap.Push(ready, d)
			}
		}
	}
	return order
}

type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// cycles returns one cycle per strongly connected component of more than
// one step, each as step indexes starting from the component's first
// declared step and following after: edges: [a b c] means a is after b, b
// after c and c after a. The cycles are ordered by their first step.
func (g *Graph) cycles() [][]int {
	n := len(g.names)
	index := make([]int, n)
	low := make([]int, n)
	onStack := make([]bool, n)
	comp := make([]int, n)
	for i := range index {
		index[i] = -1
	}
	var stack []int
	next, ncomp := 0, 0
	var sccs [][]int
	var strong func(v int)
	strong = func(v int) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		for _, w := range g.after[v] {
			if index[w] < 0 {
				strong(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var scc []int
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				comp[w] = ncomp
				scc = append(scc, w)
				if w == v {
					break
				}
			}
			ncomp++
			sccs = append(sccs, scc)
		}
	}
	for v := range n {
		if index[v] < 0 {
			strong(v)
		}
	}

	var cycles [][]int
	for _, scc := range sccs {
		if len(scc) < 2 {
			continue
		}
		start := scc[0]
		for _, v := range scc {
			start = min(start, v)
		}
		cycles = append(cycles, g.shortestCycle(start, comp))
	}
	// Components come out in reverse topological order; list them by
	// their first step instead.
	slices.SortFunc(cycles, func(a, b []int) int { return a[0] - b[0] })
	return cycles
}

// shortestCycle returns the shortest cycle through start inside its
// component (breadth first, edges in after: order).
func (g *Graph) shortestCycle(start int, comp []int) []int {
	parent := map[int]int{start: -1}
	queue := []int{start}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for _, w := range g.after[u] {
			if comp[w] != comp[start] {
				continue
			}
			if w == start {
				var path []int
				for x := u; x != -1; x = parent[x] {
					path = append(path, x)
				}
				slices.Reverse(path) // it ran from u back to start
				return path
			}
			if _, seen := parent[w]; !seen {
				parent[w] = u
				queue = append(queue, w)
			}
		}
	}
	return []int{start} // not reached: start is in a cycle
}

// cycleString writes a cycle as "a -> b -> c -> a".
func (g *Graph) cycleString(c []int) string {
	names := append(g.namesOf(c), g.names[c[0]])
	return strings.Join(names, " -> ")
}
