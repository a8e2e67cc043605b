package supervisor

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ripcord-dr/ripcord"
)

// What the web console and the API read from DRS besides the executions
// they drive (web.Inventory): SourceServers is in supervisor.go; JobLog is
// here. Both go through the connections in s.clients, one per target
// definition.

// JobLog returns the log of DRS job jobID in target t, oldest first
// (DescribeJobLogItems), over the connection SourceServers uses for t.
func (s *Supervisor) JobLog(ctx context.Context, t ripcord.Target, jobID string) ([]ripcord.JobLogItem, error) {
	api, err := s.inventoryClient(ctx, t)
	if err != nil {
		return nil, err
	}
	return api.JobLog(ctx, jobID)
}

// inventoryClient returns the DRS client of target t from s.clients,
// connecting once per target definition (the map SourceServers and
// Clients fill, under the same key), within the replica's share of the
// rate (connect).
func (s *Supervisor) inventoryClient(ctx context.Context, t ripcord.Target) (ripcord.DRS, error) {
	key, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	api := s.clients[string(key)]
	s.mu.Unlock()
	if api != nil {
		return api, nil
	}
	clients, err := s.connect(ctx, []ripcord.Target{t})
	if err != nil {
		return nil, err
	}
	api = clients[t.Name]
	if api == nil {
		return nil, fmt.Errorf("connecting to target %s: no client", t.Name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if had := s.clients[string(key)]; had != nil {
		return had, nil // another call connected meanwhile: keep one
	}
	s.clients[string(key)] = api
	return api, nil
}
