package twin

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsdrs "github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"

	"github.com/ripcord-dr/ripcord/drssim"
)

// bodyGuard hides the request body's WriteTo (see drssim's harness_test.go,
// safeBodyClient: a client-side race of smithy-go and net/http).
type bodyGuard struct{ next aws.HTTPClient }

func (c bodyGuard) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = struct{ io.ReadCloser }{r.Body}
	}
	return c.next.Do(r)
}

func newTestReader(t *testing.T) (*Reader, *drssim.Sim) {
	t.Helper()
	sim, err := drssim.New(drssim.Options{Clock: drssim.NewManualClock(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)),
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDTWIN", "secret", ""),
		HTTPClient: bodyGuard{srv.Client()}}
	return New(cfg, func(o *awsdrs.Options) { o.BaseEndpoint = aws.String(srv.URL) }), sim
}

// TestReadOnlyRefusesMutations: the reader's client refuses every
// operation that is not a read before sending it (the simulator counts no
// such request), whatever the caller's options; reads go through.
func TestReadOnlyRefusesMutations(t *testing.T) {
	r, sim := newTestReader(t)
	ctx := t.Context()
	mutations := map[string]func() error{
		"StartRecovery": func() error {
			_, err := r.api.StartRecovery(ctx, &awsdrs.StartRecoveryInput{IsDrill: aws.Bool(true),
				SourceServers: []types.StartRecoveryRequestSourceServer{{SourceServerID: aws.String("s-3c1730a9e0771ea14")}}})
			return err
		},
		"TerminateRecoveryInstances": func() error {
			_, err := r.api.TerminateRecoveryInstances(ctx, &awsdrs.TerminateRecoveryInstancesInput{RecoveryInstanceIDs: []string{"i-0a1b2c3d4e5f60701"}})
			return err
		},
		"UpdateLaunchConfiguration": func() error {
			_, err := r.api.UpdateLaunchConfiguration(ctx, &awsdrs.UpdateLaunchConfigurationInput{SourceServerID: aws.String("s-3c1730a9e0771ea14"), CopyTags: aws.Bool(true)})
			return err
		},
		"TagResource": func() error {
			_, err := r.api.TagResource(ctx, &awsdrs.TagResourceInput{ResourceArn: aws.String("arn:aws:drs:us-east-1:111122223333:source-server/s-3c1730a9e0771ea14"),
				Tags: map[string]string{"k": "v"}})
			return err
		},
		"DeleteJob": func() error {
			_, err := r.api.DeleteJob(ctx, &awsdrs.DeleteJobInput{JobID: aws.String("drsjob-3f0c2a9b7d1e45a60")})
			return err
		},
	}
	for op, call := range mutations {
		err := call()
		var refused *MutationRefusedError
		if !errors.As(err, &refused) || refused.Operation != op {
			t.Errorf("%s: err = %v, want a MutationRefusedError for %s", op, err, op)
		}
	}
	if _, err := r.api.DescribeSourceServers(ctx, &awsdrs.DescribeSourceServersInput{}); err != nil {
		t.Fatalf("a read was refused: %v", err)
	}
	counts := sim.OperationCounts()
	for op := range mutations {
		if counts[op] != 0 {
			t.Errorf("the simulator received %d %s requests", counts[op], op)
		}
	}
	if counts["DescribeSourceServers"] != 1 {
		t.Errorf("DescribeSourceServers reached the simulator %d times, want 1 (counts %v)", counts["DescribeSourceServers"], counts)
	}
}

func TestIsRead(t *testing.T) {
	for op, want := range map[string]bool{"DescribeJobs": true, "GetLaunchConfiguration": true, "ListTagsForResource": true,
		"StartRecovery": false, "TerminateRecoveryInstances": false, "UpdateLaunchConfiguration": false, "TagResource": false,
		"InitializeService": false, "": false, "describeJobs": false} {
		if got := IsRead(op); got != want {
			t.Errorf("IsRead(%q) = %v, want %v", op, got, want)
		}
	}
}

func TestParseISODuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"P0D": 0, "PT4M12.5S": 4*time.Minute + 12500*time.Millisecond, "P2DT3H": 51 * time.Hour,
		"PT16H20M38.697305S": 16*time.Hour + 20*time.Minute + 38697305*time.Microsecond, "P1W": 7 * 24 * time.Hour,
	} {
		got, err := parseISODuration(in)
		if err != nil || got != want {
			t.Errorf("parseISODuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "P", "4M", "PT", "P1M", "PT1D", "PTT1S", "P-1D", "PT1X"} {
		if _, err := parseISODuration(in); err == nil {
			t.Errorf("parseISODuration(%q) = nil error, want one", in)
		}
	}
}

func TestRangeOf(t *testing.T) {
	if r := rangeOf(nil); !r.IsZero() {
		t.Errorf("no observations: %v, want the default (zero)", r)
	}
	few := []time.Duration{3 * time.Minute, time.Minute, 2 * time.Minute}
	if r := rangeOf(few); r.Min.D() != time.Minute || r.Max.D() != 3*time.Minute {
		t.Errorf("three observations: %v, want [1m, 3m]", r)
	}
	// Eleven observations, one far out: the 10th and 90th percentiles.
	var many []time.Duration
	for i := 1; i <= 10; i++ {
		many = append(many, time.Duration(i)*time.Minute)
	}
	many = append(many, 10*time.Hour)
	if r := rangeOf(many); r.Min.D() != 2*time.Minute || r.Max.D() != 10*time.Minute {
		t.Errorf("eleven observations: [%s, %s], want [2m, 10m]", r.Min, r.Max)
	}
}
