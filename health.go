package ripcord

import (
	"context"
	"time"
)

// Health checks: what a plan's check steps and launch steps' health gates
// run (docs/plans.md, "Health checks"). A check passes or fails per
// attempt; it is tried every Interval until it passes, until Retries
// attempts after the first have failed, or until Timeout has passed since
// it started, whichever comes first.

// Health check types.
const (
	CheckEC2Status = "ec2Status" // EC2's system and instance status checks of the recovery instances are ok
	CheckTCP       = "tcp"       // a TCP connection to Address opens
	CheckHTTP      = "http"      // a GET of URL answers Status (and its body matches Body)
	CheckSSM       = "ssm"       // an SSM Run Command of Document on the recovery instances exits 0
)

// CheckTypes lists the health check types.
var CheckTypes = []string{CheckEC2Status, CheckTCP, CheckHTTP, CheckSSM}

// Defaults of a health check's timing, which the plan decoder fills in.
const (
	DefaultCheckInterval = 15 * time.Second
	DefaultCheckTimeout  = 10 * time.Minute
)

// HealthCheck is one check of a check step or of a launch step's health
// gate.
//
// New fields must be tagged omitempty (or omitzero), so that adding one
// does not change the hash of plans that do not use it.
type HealthCheck struct {
	// Name names the check in events and reports; the decoder defaults it
	// to the type, with the check's position when a list has several of
	// one type ("http-2").
	Name string `json:"name"`
	Type string `json:"type"`
	// Address is a tcp check's host:port. The host may be a template of
	// each recovery instance ({{.PrivateIP}}, {{.InstanceID}}), so that
	// the check runs once per instance; a fixed host runs it once.
	Address string `json:"address,omitempty"`
	// URL is an http check's URL (http or https), a template like Address.
	URL string `json:"url,omitempty"`
	// Status is the HTTP status an http check expects (0: 200).
	Status int `json:"status,omitempty"`
	// Body, when set, is a regular expression the answer's body must match.
	Body string `json:"body,omitempty"`
	// Document and Parameters are an ssm check's Run Command document and
	// its parameters; the command's exit code decides (0 passes).
	Document   string            `json:"document,omitempty"`
	Parameters map[string]string `json:"parameters,omitempty"`
	// Interval is the time between two attempts; Timeout how long the
	// check may take to pass, from when it starts (a gate: when its
	// server launched); Retries, when set, how many attempts may fail
	// after the first before the check fails (0: only Timeout bounds it).
	Interval time.Duration `json:"interval,omitempty"`
	Timeout  time.Duration `json:"timeout,omitempty"`
	Retries  int           `json:"retries,omitempty"`
}

// PerInstance reports whether the check runs once per recovery instance
// (EC2 status, SSM, and tcp or http checks whose address is a template)
// rather than once.
func (c HealthCheck) PerInstance() bool {
	switch c.Type {
	case CheckEC2Status, CheckSSM:
		return true
	case CheckTCP:
		return containsTemplate(c.Address)
	case CheckHTTP:
		return containsTemplate(c.URL)
	}
	return false
}

func containsTemplate(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '{' && s[i+1] == '{' {
			return true
		}
	}
	return false
}

// InstanceStatus is what EC2 says of one recovery instance.
type InstanceStatus struct {
	InstanceID string
	State      string // pending, running, stopped, shutting-down, terminated
	PrivateIP  string
	// System and Instance are EC2's status checks: ok, impaired,
	// initializing, insufficient-data or not-applicable.
	System   string
	Instance string
}

// CommandResult is where an SSM Run Command command is on one instance.
type CommandResult struct {
	// Status is SSM's: Pending, InProgress, Delayed, Success, Failed,
	// TimedOut, Cancelling, Cancelled.
	Status string
	// Done: the status is final (Success, Failed, TimedOut, Cancelled);
	// OK: it is Success.
	Done, OK bool
	ExitCode int    // -1 until it ends
	Output   string // standard output
	Error    string // standard error
}

// RunCommand is SSM Run Command in one target, the one way health checks
// (Instances) and SSM hooks (SSM) run documents on recovery instances.
type RunCommand interface {
	// SendCommand runs document with params on the instances and
	// returns the command's ID.
	SendCommand(ctx context.Context, document string, instances []string, params map[string][]string) (string, error)
	// CommandInvocation returns where the command is on one instance.
	CommandInvocation(ctx context.Context, commandID, instance string) (CommandResult, error)
}

// Instances is what health checks need of EC2 and SSM in one target: the
// status of recovery instances, and Run Command on them. Package ec2ssm
// implements it on the AWS SDK; the engine holds one per target.
type Instances interface {
	// InstanceStatus describes the instances; an instance EC2 does not
	// know is missing from the map.
	InstanceStatus(ctx context.Context, ids []string) (map[string]InstanceStatus, error)
	RunCommand
}
