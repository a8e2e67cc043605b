package ec2ssm_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/ec2ssm"
)

// sent is what a SendCommand request sends that the tests look at.
type sent struct {
	DocumentName, Comment string
	Parameters            map[string][]string
}

// fakeSSM answers every request with status and body, and keeps the
// requests.
type fakeSSM struct {
	status   int
	body     string
	mu       sync.Mutex
	requests []sent
}

func (f *fakeSSM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var in sent
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.requests = append(f.requests, in)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(f.status)
	w.Write([]byte(f.body))
}

func (f *fakeSSM) sent() []sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

func newClient(t *testing.T, f *fakeSSM, use ec2ssm.Use) *ec2ssm.Client {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			})
		}}
	return ec2ssm.New(cfg, srv.URL, use)
}

// TestRunCommandUses: one SendCommand and one CommandInvocation serve
// health checks and hooks, each as it relies on: a check makes one SDK
// try and reads a *ripcord.Error with AWS's code and a hint; a hook has
// the SDK's retries and reads the SDK's error after the action and the
// document. Each command carries its caller's comment.
func TestRunCommandUses(t *testing.T) {
	for _, tc := range []struct {
		name     string
		use      ec2ssm.Use
		attempts int
		comment  string
		unknown  string // the error of an unknown instance
	}{
		{"checks", ec2ssm.ForChecks, 1, "ripcord health check", "SendCommand: InvalidInstanceId: not registered (the instance's SSM agent is not online yet, or the instance has no instance profile allowing SSM)"},
		{"hooks", ec2ssm.ForHooks, 3, "ripcord hook", "SSM SendCommand of warm: operation error SSM: SendCommand, https response error StatusCode: 400"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeSSM{status: http.StatusInternalServerError, body: `{"__type":"InternalServerError","message":"try later"}`}
			c := newClient(t, f, tc.use)
			if _, err := c.SendCommand(t.Context(), "warm", []string{"i-1"}, nil); err == nil || len(f.sent()) != tc.attempts {
				t.Fatalf("SendCommand with SSM failing: %v after %d requests, want an error after %d", err, len(f.sent()), tc.attempts)
			}

			f = &fakeSSM{status: http.StatusBadRequest, body: `{"__type":"InvalidInstanceId","message":"not registered"}`}
			c = newClient(t, f, tc.use)
			_, err := c.SendCommand(t.Context(), "warm", []string{"i-1"}, map[string][]string{"level": {"2"}})
			var re *ripcord.Error
			if err == nil || !strings.HasPrefix(err.Error(), tc.unknown) || errors.As(err, &re) != (tc.use == ec2ssm.ForChecks) {
				t.Fatalf("SendCommand to an unknown instance: %v, want %q", err, tc.unknown)
			}
			if re != nil && (re.Code != ripcord.EUNAVAILABLE || re.Hint == "") {
				t.Errorf("error %+v, want EUNAVAILABLE with a hint", re)
			}
			if got := f.sent()[0]; got.Comment != tc.comment || got.DocumentName != "warm" || !slices.Equal(got.Parameters["level"], []string{"2"}) {
				t.Errorf("sent %v, want warm with level 2 and the comment %q", got, tc.comment)
			}
		})
	}
}

// TestCommandInvocation: the result carries SSM's status, whether it is
// final and a success, the exit code, and standard output and error
// apart; Cancelling is not final.
func TestCommandInvocation(t *testing.T) {
	for _, tc := range []struct {
		answer string
		want   ripcord.CommandResult
	}{
		{`{"Status":"InProgress","ResponseCode":-1}`, ripcord.CommandResult{Status: "InProgress", ExitCode: -1}},
		{`{"Status":"Cancelling","ResponseCode":-1}`, ripcord.CommandResult{Status: "Cancelling", ExitCode: -1}},
		{`{"Status":"Success","ResponseCode":0,"StandardOutputContent":"warmed\n"}`,
			ripcord.CommandResult{Status: "Success", Done: true, OK: true, Output: "warmed\n"}},
		{`{"Status":"Failed","ResponseCode":3,"StandardOutputContent":"checking\n","StandardErrorContent":"lag too high\n"}`,
			ripcord.CommandResult{Status: "Failed", Done: true, ExitCode: 3, Output: "checking\n", Error: "lag too high\n"}},
	} {
		f := &fakeSSM{status: http.StatusOK, body: tc.answer}
		got, err := newClient(t, f, ec2ssm.ForChecks).CommandInvocation(t.Context(), "cmd-1", "i-1")
		if err != nil || got != tc.want {
			t.Errorf("CommandInvocation of %s: %+v, %v; want %+v", tc.answer, got, err, tc.want)
		}
	}
}
