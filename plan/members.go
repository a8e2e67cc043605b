package plan

import (
	"slices"

	"github.com/ripcord-dr/ripcord"
)

// Members returns the IDs of g's servers among servers (the source servers
// of g's target), sorted: its explicit servers that exist and the servers
// its selector matches, by the same rule as Resolve. It reports nothing
// missing: Resolve does.
func Members(g *ripcord.ProtectionGroup, servers []SourceServerInfo) []string {
	var ids []string
	for _, s := range servers {
		if slices.Contains(g.Servers, s.ID) || (g.Selector != nil && matches(g.Selector, s.Tags)) {
			ids = append(ids, s.ID)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}
