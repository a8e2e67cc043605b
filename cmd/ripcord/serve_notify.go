package main

import (
	"context"
	"log/slog"
	"net/url"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drs"
	"github.com/ripcord-dr/ripcord/notify"
	"github.com/ripcord-dr/ripcord/plan"
	"github.com/ripcord-dr/ripcord/supervisor"
)

// validPublicURL checks --public-url: empty, or an http(s) URL without a
// query or fragment, under which /console/... is appended for links.
func validPublicURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return errInvalid("invalid --public-url %q: want the URL people reach this server at, e.g. https://dr.example.com", s)
	}
	return nil
}

// startNotifications runs the notification dispatcher of this replica
// (package notify) until ctx ends, and returns it (nil when notifications
// are off) and a function that waits for it.
// SNS topics are published with the credentials and endpoint of the
// target a plan's notify: entry names, as DRS is reached for it.
func startNotifications(ctx context.Context, cfg serveConfig, store ripcord.Store, replicaID string, logger *slog.Logger) (*notify.Dispatcher, func()) {
	d, err := notify.New(notify.Config{
		Store: store, Holder: replicaID, PublicURL: cfg.PublicURL, Logger: logger, Clock: cfg.clock(ctx),
		SNS: func(ctx context.Context, t ripcord.Target, topic string) (notify.Sender, error) {
			region, endpoint := t.Region, t.Endpoint
			if region == "" {
				region = cfg.Region
			}
			if endpoint == "" {
				endpoint = cfg.Endpoint
			}
			awsCfg, err := drs.LoadAWSConfig(ctx, drs.Config{Region: region, Profile: cfg.Profile, RoleARN: t.RoleARN,
				ExternalID: t.ExternalID, STSEndpoint: cfg.stsEndpoint(ctx, endpoint)})
			if err != nil {
				return nil, err
			}
			return notify.NewSNS(awsCfg, topic, endpoint), nil
		},
	})
	if err != nil {
		logger.Error("notifications are off", "error", err)
		return nil, func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = d.Run(ctx)
	}()
	return d, func() { <-done }
}

// readinessHooks is what serve does with each readiness check of a plan:
// a plan with a blocking finding notifies its destinations that want
// readiness (the dispatcher keeps a bad state to one notification a day
// across replicas), and then the extra hook, if any, hears of it.
func readinessHooks(store ripcord.Store, d *notify.Dispatcher, extra func(string, []ripcord.Finding)) func(string, []ripcord.Finding) {
	return func(name string, findings []ripcord.Finding) {
		if d != nil && ripcord.Blocking(findings) {
			ctx := context.Background()
			if p, ok := latestPlan(ctx, store, name); ok {
				d.NotifyReadiness(ctx, p.Plans[0], p.Targets, findings, time.Now())
			}
		}
		if extra != nil {
			extra(name, findings)
		}
	}
}

// scheduleHooks is what serve does with each scheduled drill the
// supervisor started or could not start: one that could not start tells
// the plan's destinations (the supervisor reports a slot's failure once
// per reason; the store lets one replica deliver it). A slot that only
// waits for the plan's other, live execution is not a failure: it starts
// when that one ends.
func scheduleHooks(ctx context.Context, store ripcord.Store, d *notify.Dispatcher, now func() time.Time) func(supervisor.ScheduledRun) {
	return func(run supervisor.ScheduledRun) {
		if d == nil || run.Err == nil || ripcord.ErrorCode(run.Err) == ripcord.ECONFLICT || ctx.Err() != nil {
			return
		}
		if p, ok := latestPlan(ctx, store, run.Plan); ok {
			d.NotifyNotStarted(ctx, p.Plans[0], p.Targets, run.ID, run.Slot, run.Err, now())
		}
	}
}

// latestPlan is plan name as its latest saved version has it, alone in
// its file with its targets.
func latestPlan(ctx context.Context, store ripcord.Store, name string) (*ripcord.PlanFile, bool) {
	versions, err := store.ListPlanVersions(ctx, name)
	if err != nil || len(versions) == 0 {
		return nil, false
	}
	f, err := plan.Decode(name+".yaml", versions[0].Source)
	if err != nil {
		return nil, false
	}
	p, err := f.Extract(name)
	return p, err == nil && len(p.Plans) == 1
}
