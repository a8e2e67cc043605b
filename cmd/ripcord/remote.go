package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/engine"
)

// This file is the CLI's side of a ripcord server: with --server URL (or
// RIPCORD_SERVER) run, exec and cleanup go through the server's API
// (package client) instead of a local store and DRS.

// Environment variables of the server connection.
const (
	envServer = "RIPCORD_SERVER"
	envToken  = "RIPCORD_TOKEN"
)

// remoteFlags say which ripcord server a command talks to, if any.
type remoteFlags struct {
	Server   string
	Token    string
	Insecure bool
}

// localOnly are the flags that make no sense with a server, and why:
// refused together with --server.
var localOnly = []struct{ name, why string }{
	{"db", "the server has its own store"},
	{"profile", "the server has its own DRS connection"},
	{"region", "the server has its own DRS connection"},
	{"endpoint-url", "the server has its own DRS connection"},
	{"sts-endpoint-url", "the server has its own DRS connection"},
	{"rate-limit", "the server has its own DRS connection"},
	{"poll", "the server has its own DRS connection"},
	{"id", "the server names the executions it starts"},
	{"every", "the server's event stream delivers each change as it is recorded"},
	{"wait", "the server drives the execution; exec resume follows it"},
}

// registerRemote adds --server, --token and --insecure to cmd.
func (c *connFlags) registerRemote(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&c.Remote.Server, "server", "", "URL of a ripcord server (ripcord serve) to go through instead of the local store and DRS (default: $"+envServer+")")
	f.StringVar(&c.Remote.Token, "token", "", "API token for --server (default: $"+envToken+", which is better: a flag stays in the shell's history)")
	f.BoolVar(&c.Remote.Insecure, "insecure", false, "allow --server over plain http to a host other than loopback (tokens then cross the network in clear)")
}

// server resolves the server connection of cmd: the flags, else the
// environment. It returns nil, nil when the command works locally, and
// refuses flags that make no sense with a server.
func (c *connFlags) server(cmd *cobra.Command) (*client.Client, error) {
	f := cmd.Flags()
	r := c.Remote
	if !f.Changed("server") {
		r.Server = os.Getenv(envServer)
	}
	if !f.Changed("token") {
		r.Token = os.Getenv(envToken)
	}
	if r.Server == "" {
		for _, name := range []string{"token", "insecure"} {
			if f.Changed(name) {
				return nil, errInvalid("--%s is for a ripcord server: give --server URL (or set %s) too", name, envServer)
			}
		}
		return nil, nil
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	for _, lo := range localOnly {
		if fl := f.Lookup(lo.name); fl != nil && fl.Changed {
			return nil, &ripcord.Error{Code: ripcord.EINVALID,
				Message: fmt.Sprintf("--%s does not go with --server (%s): %s", lo.name, r.Server, lo.why),
				Hint:    "drop --" + lo.name + ", or drop --server (and unset " + envServer + ") to work locally"}
		}
	}
	u, err := url.Parse(r.Server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("--server %q is not an http(s) URL", r.Server),
			Hint: "give the server's base URL, e.g. https://ripcord.example.com or http://127.0.0.1:8080"}
	}
	if u.Scheme != "https" && !r.Insecure && !loopback(u.Hostname()) {
		return nil, &ripcord.Error{Code: ripcord.EINVALID,
			Message: fmt.Sprintf("refusing to send a token to %s over plain http: it would cross the network in clear", r.Server),
			Hint:    "use https://, a server on 127.0.0.1, or say --insecure if the network between you is trusted"}
	}
	if r.Token == "" {
		return nil, &ripcord.Error{Code: ripcord.EINVALID, Message: "--server needs an API token",
			Hint: "set " + envToken + " (better than --token, which stays in the shell's history); an admin makes one with: ripcord token create --role operator --name NAME"}
	}
	return client.New(r.Server, r.Token, client.WithUserAgent("ripcord-cli/"+buildVersion()))
}

// either runs remote when cmd talks to a server, else local.
func (c *connFlags) either(remote func(ctx context.Context, cmd *cobra.Command, args []string, cl *client.Client) error,
	local func(*cobra.Command, []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		cl, err := c.server(cmd)
		if err != nil {
			return err
		}
		if cl == nil {
			return local(cmd, args)
		}
		return serverError(remote(cmd.Context(), cmd, args, cl))
	}
}

// serverError adds what to do to a server's refusals that the server
// cannot know: the token is the CLI's.
func serverError(err error) error {
	var e *ripcord.Error
	if !errors.As(err, &e) || e.Code != client.EUNAUTHENTICATED {
		return err
	}
	return &ripcord.Error{Code: e.Code, Message: "the server refused the token: " + e.Message,
		Hint: "check the token in " + envToken + " or --token (unknown, expired or revoked?); an admin makes a new one with: ripcord token create"}
}

// remoteRun starts the latest saved version of a plan on the server,
// saving the plan file first when -f is given, and follows it to its end.
func remoteRun(ctx context.Context, cmd *cobra.Command, cl *client.Client, cfg runConfig) error {
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if n := btoi(cfg.Drill) + btoi(cfg.Recovery) + btoi(cfg.Failback); n != 1 {
		return errInvalid("choose exactly one of --drill, --recovery and --failback")
	}
	if (cfg.Recovery || cfg.Failback) && cfg.CleanupAfter > 0 {
		return errInvalid("--cleanup-after is for drills: recovery instances are production and are never terminated by ripcord")
	}
	if cfg.CleanupAfter < 0 {
		return errInvalid("invalid --cleanup-after %s: must not be negative", cfg.CleanupAfter)
	}
	planName := cfg.Plan
	if cfg.File != "" {
		data, name, err := readPlanFile(cmd.InOrStdin(), cfg.File)
		if err != nil {
			return err
		}
		saved, err := cl.SavePlans(ctx, name, data)
		if client.IsCode(err, client.EFORBIDDEN) {
			return &ripcord.Error{Code: client.EFORBIDDEN, Message: "saving the plan file on the server needs an admin token: " + err.Error(),
				Hint: "ask an admin to save it (ripcord run -f FILE with an admin token, or POST /api/v1/plans), then run the saved plan without -f: ripcord run PLAN --server URL"}
		}
		if err != nil {
			return err
		}
		var names []string
		for _, v := range saved.Versions {
			names = append(names, v.Name)
			state := "saved as a new version"
			if !v.New {
				state = "unchanged since it was saved"
			}
			if cfg.Output == "text" {
				fmt.Fprintf(out, "plan %s: version %s, %s\n", v.Name, shortHash(v.Hash), state)
			}
		}
		switch {
		case planName == "" && len(names) != 1:
			return errInvalid("%s holds %d plans (%s): name the one to run", name, len(names), strings.Join(names, ", "))
		case planName == "":
			planName = names[0]
		case !slices.Contains(names, planName):
			return &ripcord.Error{Code: ripcord.ENOTFOUND, Message: fmt.Sprintf("%s holds no plan named %s (it holds %s)", name, planName, strings.Join(names, ", ")),
				Hint: "name one of its plans"}
		}
	}
	if planName == "" {
		return errInvalid("name the plan to run: ripcord run PLAN --server URL runs its latest saved version; -f FILE saves a plan file first (admin)")
	}
	mode, err := cfg.mode(planName)
	if err != nil {
		return err
	}
	rq := client.StartRequest{Plan: planName, Mode: mode, Confirm: cfg.Confirm, AllowConcurrent: cfg.AllowConcurrent}
	if cfg.CleanupAfter > 0 {
		rq.CleanupAfter = cfg.CleanupAfter.String()
	}
	x, err := cl.Start(ctx, rq)
	if err != nil {
		if ripcord.ErrorCode(err) == ripcord.ECONFLICT {
			return &exitError{code: exitInvalid, msg: err.Error(), hint: ripcord.ErrorHint(err)}
		}
		return err
	}
	header := func(s *engine.State) {
		if cfg.Output != "text" {
			return
		}
		fmt.Fprintf(out, "execution %s: plan %s (%s), %d steps, driven by the server at %s\n", x.ID, planName, mode, len(s.Spec.Steps), cl.BaseURL())
		if cfg.CleanupAfter > 0 {
			fmt.Fprintf(out, "cleanup scheduled: %s after the drill ends (recorded; the server carries it out)\n", cfg.CleanupAfter)
		}
	}
	return followToEnd(ctx, out, errOut, cl, x.ID, cfg.Output == "json", header)
}

// followToEnd follows execution id on the server until it is settled (it
// ended and its cleanup is done, or it is paused) and no driver drives it
// any more, printing progress, then prints the summary and returns the
// outcome as the command's error (exit status). first, when set, is called
// once the log has been read, before any progress. Ctrl-C stops following
// only: the server keeps driving.
func followToEnd(ctx context.Context, out, errOut io.Writer, cl *client.Client, id string, asJSON bool, first func(*engine.State)) error {
	var p *progress
	if !asJSON {
		p = newProgress(out)
	}
	s, events, err := followRemote(ctx, cl, id, func(s *engine.State, initial bool) {
		if initial && first != nil {
			first(s)
		}
		if p != nil {
			p.onChange(s)
		}
	})
	if err != nil {
		if ctx.Err() != nil {
			return &exitError{code: exitInterrupted,
				msg: fmt.Sprintf("stopped following execution %s; the server at %s keeps driving it: ripcord exec watch %s follows it again", id, cl.BaseURL(), id)}
		}
		return err
	}
	if err := printSummary(out, summarizeEvents(s, events), asJSON); err != nil {
		return err
	}
	return outcomeError(s)
}

// followRemote reads execution id's log through the API, then follows its
// event stream until the execution is settled and no driver drives it.
// onChange is called with the state after the log is read (initial true),
// and after each event. An execution already settled when its log is read
// is not followed.
func followRemote(ctx context.Context, cl *client.Client, id string, onChange func(s *engine.State, initial bool)) (*engine.State, []ripcord.Event, error) {
	events, err := remoteEvents(ctx, cl, id)
	if err != nil {
		return nil, nil, err
	}
	s, err := engine.Fold(id, events)
	if err != nil {
		return nil, nil, fmt.Errorf("read the log of execution %s: %w", id, err)
	}
	driving := false
	for _, ev := range events {
		driving = drives(driving, ev)
	}
	onChange(s, true)
	if remoteSettled(s) {
		return s, events, nil
	}
	errSettled := errors.New("settled")
	err = cl.Follow(ctx, id, s.LastSeq, func(ev ripcord.Event) error {
		if err := s.Apply(ev); err != nil {
			return fmt.Errorf("read the log of execution %s: %w", id, err)
		}
		events = append(events, ev)
		driving = drives(driving, ev)
		onChange(s, false)
		if remoteSettled(s) && !driving {
			return errSettled
		}
		return nil
	})
	if !errors.Is(err, errSettled) {
		return nil, nil, err
	}
	return s, events, nil
}

// drives says whether a driver drives the execution after ev.
func drives(driving bool, ev ripcord.Event) bool {
	switch ev.Type {
	case engine.EvDriverStarted:
		return true
	case engine.EvDriverStopped:
		return false
	}
	return driving
}

// remoteSettled reports whether the server's driver has nothing more to do
// for the execution without a person: it ended and a drill's cleanup is
// done or not asked for, or it is paused (and not being cancelled).
func remoteSettled(s *engine.State) bool {
	if s.Final() {
		return s.Spec.Mode != ripcord.ModeDrill || s.Cleanup.Done || (!s.Cleanup.Requested && s.Cleanup.Due.IsZero())
	}
	return s.Paused && !s.Cancel
}

// remoteEvents reads every event of execution id, page by page.
func remoteEvents(ctx context.Context, cl *client.Client, id string) ([]ripcord.Event, error) {
	var all []ripcord.Event
	var after int64
	for {
		page, err := cl.Events(ctx, id, after, 1000)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Events...)
		if !page.More || len(page.Events) == 0 {
			break
		}
		after = page.Next
	}
	if len(all) == 0 {
		return nil, &ripcord.Error{Code: ripcord.ENOTFOUND, Message: "execution " + id + " has no events",
			Hint: "ripcord exec list shows the server's executions"}
	}
	return all, nil
}

// remoteList is exec list through the server.
func remoteList(ctx context.Context, cmd *cobra.Command, cl *client.Client, asJSON bool) error {
	list, more, err := cl.Executions(ctx, client.ExecutionFilter{Limit: 1000})
	if err != nil {
		return err
	}
	if more {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: the server has more executions than the %d newest listed\n", len(list))
	}
	return writeExecList(cmd.OutOrStdout(), list, asJSON)
}

// remoteShow is exec show through the server: the same timeline, built
// from the events the API answers.
func remoteShow(ctx context.Context, cmd *cobra.Command, cl *client.Client, id string, asJSON bool) error {
	events, err := remoteEvents(ctx, cl, id)
	if err != nil {
		return err
	}
	show, err := showEvents(id, events)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		return enc.Encode(show)
	}
	return writeShowText(cmd.OutOrStdout(), show)
}

// remoteControl takes a person's action on an execution through the
// server, which records it with the token's identity.
func remoteControl(ctx context.Context, cl *client.Client, id, action, step string) (ripcord.Execution, error) {
	x, err := cl.Control(ctx, id, action, step)
	if ripcord.ErrorCode(err) == ripcord.ECONFLICT {
		// Refused by the execution's state: nothing was recorded.
		return x, &exitError{code: exitInvalid, msg: err.Error(), hint: refusalHint(err, id)}
	}
	return x, err
}

// printControl says that a control command was recorded by the server.
func printControl(out io.Writer, cl *client.Client, x ripcord.Execution, action string, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(out).Encode(map[string]string{"id": x.ID, "command": action, "server": cl.BaseURL(), "state": string(x.State)})
	}
	fmt.Fprintf(out, "%s: recorded for execution %s by the server at %s (execution %s)\n", action, x.ID, cl.BaseURL(), x.State)
	return nil
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
