package main

import (
	"context"
	"log/slog"
	"net/url"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drs"
	"github.com/ripcord-dr/ripcord/notify"
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
// (package notify) until ctx ends; the returned function waits for it.
// SNS topics are published with the credentials and endpoint of the
// target a plan's notify: entry names, as DRS is reached for it.
func startNotifications(ctx context.Context, cfg serveConfig, store ripcord.Store, replicaID string, logger *slog.Logger) (wait func()) {
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
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = d.Run(ctx)
	}()
	return func() { <-done }
}
