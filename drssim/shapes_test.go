package drssim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"
)

func TestJobAlwaysEmitsCollections(t *testing.T) {
	cases := []struct {
		name string
		v    any
		want map[string]string // JSON path -> expected compact JSON
	}{
		{"nil collections", jobOutput{Job: &Job{JobID: "drsjob-0123456789abcdef0"}}, map[string]string{
			"job.participatingServers":   `[]`,
			"job.participatingResources": `[]`,
			"job.tags":                   `{}`,
		}},
		{"empty non-nil collections", Job{
			JobID:                  "drsjob-0123456789abcdef0",
			ParticipatingServers:   []ParticipatingServer{},
			ParticipatingResources: []ParticipatingResource{},
			Tags:                   map[string]string{},
		}, map[string]string{
			"participatingServers":   `[]`,
			"participatingResources": `[]`,
			"tags":                   `{}`,
		}},
		{"server without launch actions", &Job{
			JobID:                "drsjob-0123456789abcdef0",
			ParticipatingServers: []ParticipatingServer{{SourceServerID: "s-0123456789abcdef0", LaunchStatus: "PENDING"}},
		}, map[string]string{
			"participatingServers": `[{"sourceServerID":"s-0123456789abcdef0","launchStatus":"PENDING","launchActionsStatus":{"runs":[]}}]`,
		}},
		{"launch actions status with nil runs", ParticipatingServer{LaunchActionsStatus: &LaunchActionsStatus{}}, map[string]string{
			"launchActionsStatus": `{"runs":[]}`,
		}},
		{"list output", listOutput[Job]{}, map[string]string{"items": `[]`}},
		{"list output of jobs", listOutput[*Job]{Items: []*Job{{JobID: "drsjob-0123456789abcdef0"}}}, map[string]string{
			"items": `[{"jobID":"drsjob-0123456789abcdef0","participatingServers":[],"tags":{},"participatingResources":[]}]`,
		}},
		{"tags output", tagsOutput{}, map[string]string{"tags": `{}`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			for path, want := range tc.want {
				got := jsonAt(t, b, path)
				if got != want {
					t.Errorf("%s = %s, want %s (document %s)", path, got, want, b)
				}
			}
		})
	}
	if b, _ := json.Marshal(listOutput[Job]{}); bytes.Contains(b, []byte("nextToken")) {
		t.Errorf("empty nextToken emitted: %s", b)
	}
}

// jsonAt returns the compact JSON at a dotted path of object keys.
func jsonAt(t *testing.T, doc []byte, path string) string {
	t.Helper()
	cur := json.RawMessage(doc)
	for _, key := range splitDots(path) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(cur, &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		v, ok := m[key]
		if !ok {
			return "<absent>"
		}
		cur = v
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, cur); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func splitDots(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// TestJobReadBySDK checks that the real client deserializes our Job.
func TestJobReadBySDK(t *testing.T) {
	job := &Job{
		JobID:            "drsjob-0123456789abcdef0",
		Arn:              "arn:aws:drs:us-east-1:123456789012:job/drsjob-0123456789abcdef0",
		Type:             "LAUNCH",
		InitiatedBy:      "START_DRILL",
		CreationDateTime: "2026-11-25T10:00:00.123456+00:00",
		Status:           "PENDING",
		ParticipatingServers: []ParticipatingServer{{
			SourceServerID: "s-0123456789abcdef0",
			LaunchStatus:   "PENDING",
		}},
	}
	body, err := json.Marshal(jobOutput{Job: job})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		w.Write(body)
	}))
	defer srv.Close()
	out, err := newTestClient(srv).StartRecovery(context.Background(), &drs.StartRecoveryInput{
		SourceServers: []types.StartRecoveryRequestSourceServer{{SourceServerID: aws.String("s-0123456789abcdef0")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	j := out.Job
	if aws.ToString(j.JobID) != job.JobID || j.Status != types.JobStatusPending || j.InitiatedBy != types.InitiatedByStartDrill ||
		aws.ToString(j.CreationDateTime) != job.CreationDateTime || len(j.ParticipatingServers) != 1 ||
		j.ParticipatingServers[0].LaunchActionsStatus == nil || j.Tags == nil || j.ParticipatingResources == nil {
		t.Fatalf("SDK read back %+v from %s", j, body)
	}
}

func newTestClient(srv *httptest.Server) *drs.Client {
	return drs.New(drs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		Retryer:      aws.NopRetryer{},
		HTTPClient:   srv.Client(),
	})
}

// TestInputsAcceptSDKRequests sends every operation through the real Go SDK
// with every input member set, and checks that the captured body decodes into
// our <Op>Input with DisallowUnknownFields and re-encodes to the same JSON
// (which also catches keys that only matched case-insensitively).
func TestInputsAcceptSDKRequests(t *testing.T) {
	s := aws.String
	srvID, srvID2 := "s-0123456789abcdef0", "s-0123456789abcdef1"
	riID, riID2 := "i-0123456789abcdef0", "i-0123456789abcdef1"
	jobID := "drsjob-0123456789abcdef0"
	tags := map[string]string{"k": "v", "Name": "x y"}

	cases := []struct {
		name string
		sdk  any // the SDK input, checked to have every member set
		ours any // pointer to a zero <Op>Input
	}{
		{"InitializeService", &drs.InitializeServiceInput{}, &InitializeServiceInput{}},
		{"DescribeSourceServers", &drs.DescribeSourceServersInput{
			Filters: &types.DescribeSourceServersRequestFilters{
				SourceServerIDs:   []string{srvID, srvID2},
				HardwareId:        s("00:11:22:33:44:55"),
				StagingAccountIDs: []string{"123456789012"},
			},
			MaxResults: aws.Int32(10),
			NextToken:  s("tok"),
		}, &DescribeSourceServersInput{}},
		{"StartRecovery", &drs.StartRecoveryInput{
			SourceServers: []types.StartRecoveryRequestSourceServer{
				{SourceServerID: s(srvID), RecoverySnapshotID: s("pit-0123456789abcdef0")},
				{SourceServerID: s(srvID2), RecoverySnapshotID: s("pit-0123456789abcdef1")},
			},
			IsDrill: aws.Bool(true),
			Tags:    tags,
		}, &StartRecoveryInput{}},
		{"DescribeJobs", &drs.DescribeJobsInput{
			Filters: &types.DescribeJobsRequestFilters{
				JobIDs:   []string{jobID},
				FromDate: s("2026-01-01T00:00:00Z"),
				ToDate:   s("2026-12-31T23:59:59.999Z"),
			},
			MaxResults: aws.Int32(5),
			NextToken:  s("tok"),
		}, &DescribeJobsInput{}},
		{"DescribeJobLogItems", &drs.DescribeJobLogItemsInput{
			JobID: s(jobID), MaxResults: aws.Int32(7), NextToken: s("tok"),
		}, &DescribeJobLogItemsInput{}},
		{"DescribeRecoveryInstances", &drs.DescribeRecoveryInstancesInput{
			Filters: &types.DescribeRecoveryInstancesRequestFilters{
				RecoveryInstanceIDs: []string{riID, riID2},
				SourceServerIDs:     []string{srvID},
			},
			MaxResults: aws.Int32(3),
			NextToken:  s("tok"),
		}, &DescribeRecoveryInstancesInput{}},
		{"TerminateRecoveryInstances", &drs.TerminateRecoveryInstancesInput{
			RecoveryInstanceIDs: []string{riID, riID2},
		}, &TerminateRecoveryInstancesInput{}},
		{"DescribeRecoverySnapshots", &drs.DescribeRecoverySnapshotsInput{
			SourceServerID: s(srvID),
			Filters: &types.DescribeRecoverySnapshotsRequestFilters{
				FromDateTime: s("2026-01-01T00:00:00Z"),
				ToDateTime:   s("2026-12-31T00:00:00Z"),
			},
			Order:      types.RecoverySnapshotsOrderDesc,
			MaxResults: aws.Int32(20),
			NextToken:  s("tok"),
		}, &DescribeRecoverySnapshotsInput{}},
		{"GetLaunchConfiguration", &drs.GetLaunchConfigurationInput{SourceServerID: s(srvID)}, &GetLaunchConfigurationInput{}},
		{"UpdateLaunchConfiguration", &drs.UpdateLaunchConfigurationInput{
			SourceServerID:                      s(srvID),
			Name:                                s("web-1"),
			LaunchDisposition:                   types.LaunchDispositionStopped,
			TargetInstanceTypeRightSizingMethod: types.TargetInstanceTypeRightSizingMethodInAws,
			CopyPrivateIp:                       aws.Bool(true),
			CopyTags:                            aws.Bool(true),
			Licensing:                           &types.Licensing{OsByol: aws.Bool(true)},
			PostLaunchEnabled:                   aws.Bool(true),
			LaunchIntoInstanceProperties:        &types.LaunchIntoInstanceProperties{LaunchIntoEC2InstanceID: s(riID)},
		}, &UpdateLaunchConfigurationInput{}},
		{"TagResource", &drs.TagResourceInput{
			ResourceArn: s("arn:aws:drs:us-east-1:123456789012:source-server/" + srvID),
			Tags:        tags,
		}, &TagResourceInput{}},
		{"DisconnectRecoveryInstance", &drs.DisconnectRecoveryInstanceInput{RecoveryInstanceID: s(riID)}, &DisconnectRecoveryInstanceInput{}},
		{"DeleteRecoveryInstance", &drs.DeleteRecoveryInstanceInput{RecoveryInstanceID: s(riID)}, &DeleteRecoveryInstanceInput{}},
		{"StartReplication", &drs.StartReplicationInput{SourceServerID: s(srvID)}, &StartReplicationInput{}},
		{"StopReplication", &drs.StopReplicationInput{SourceServerID: s(srvID)}, &StopReplicationInput{}},
		{"RetryDataReplication", &drs.RetryDataReplicationInput{SourceServerID: s(srvID)}, &RetryDataReplicationInput{}},
		{"DeleteJob", &drs.DeleteJobInput{JobID: s(jobID)}, &DeleteJobInput{}},
		{"ReverseReplication", &drs.ReverseReplicationInput{RecoveryInstanceID: s(riID)}, &ReverseReplicationInput{}},
		{"StartFailbackLaunch", &drs.StartFailbackLaunchInput{
			RecoveryInstanceIDs: []string{riID, riID2},
			Tags:                tags,
		}, &StartFailbackLaunchInput{}},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assertAllSet(t, tc.name, reflect.ValueOf(tc.sdk))

			captured := make(chan []byte, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, err := io.ReadAll(r.Body)
				if err != nil {
					t.Errorf("read body: %v", err)
				}
				select {
				case captured <- b:
				default:
					t.Errorf("more than one request")
				}
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(`{}`))
			}))
			defer srv.Close()

			// Response decoding errors are irrelevant here; only the request matters.
			_ = callSDK(context.Background(), newTestClient(srv), tc.sdk)

			var body []byte
			select {
			case body = <-captured:
			default:
				t.Fatal("the SDK sent no request")
			}

			if tc.name == "InitializeService" {
				if len(body) != 0 {
					t.Fatalf("InitializeService sent a body: %s", body)
				}
				body = []byte(`{}`)
			}

			dec := json.NewDecoder(bytes.NewReader(body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(tc.ours); err != nil {
				t.Fatalf("decode %s into %T: %v", body, tc.ours, err)
			}

			// Round trip: our struct must re-encode to the same document.
			again, err := json.Marshal(tc.ours)
			if err != nil {
				t.Fatal(err)
			}
			var want, got any
			if err := json.Unmarshal(body, &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(again, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(want, got) {
				t.Fatalf("round trip mismatch:\n sent %s\n ours %s", body, again)
			}
		})
	}
}

// callSDK invokes the client operation matching the SDK input's type.
func callSDK(ctx context.Context, c *drs.Client, in any) error {
	var err error
	switch in := in.(type) {
	case *drs.InitializeServiceInput:
		_, err = c.InitializeService(ctx, in)
	case *drs.DescribeSourceServersInput:
		_, err = c.DescribeSourceServers(ctx, in)
	case *drs.StartRecoveryInput:
		_, err = c.StartRecovery(ctx, in)
	case *drs.DescribeJobsInput:
		_, err = c.DescribeJobs(ctx, in)
	case *drs.DescribeJobLogItemsInput:
		_, err = c.DescribeJobLogItems(ctx, in)
	case *drs.DescribeRecoveryInstancesInput:
		_, err = c.DescribeRecoveryInstances(ctx, in)
	case *drs.TerminateRecoveryInstancesInput:
		_, err = c.TerminateRecoveryInstances(ctx, in)
	case *drs.DescribeRecoverySnapshotsInput:
		_, err = c.DescribeRecoverySnapshots(ctx, in)
	case *drs.GetLaunchConfigurationInput:
		_, err = c.GetLaunchConfiguration(ctx, in)
	case *drs.UpdateLaunchConfigurationInput:
		_, err = c.UpdateLaunchConfiguration(ctx, in)
	case *drs.TagResourceInput:
		_, err = c.TagResource(ctx, in)
	case *drs.DisconnectRecoveryInstanceInput:
		_, err = c.DisconnectRecoveryInstance(ctx, in)
	case *drs.DeleteRecoveryInstanceInput:
		_, err = c.DeleteRecoveryInstance(ctx, in)
	case *drs.StartReplicationInput:
		_, err = c.StartReplication(ctx, in)
	case *drs.StopReplicationInput:
		_, err = c.StopReplication(ctx, in)
	case *drs.RetryDataReplicationInput:
		_, err = c.RetryDataReplication(ctx, in)
	case *drs.DeleteJobInput:
		_, err = c.DeleteJob(ctx, in)
	case *drs.ReverseReplicationInput:
		_, err = c.ReverseReplication(ctx, in)
	case *drs.StartFailbackLaunchInput:
		_, err = c.StartFailbackLaunch(ctx, in)
	default:
		panic("callSDK: unhandled input type " + reflect.TypeOf(in).String())
	}
	return err
}

// assertAllSet fails unless every exported field of the SDK input (recursing
// into structs, pointers, slice elements and map values) is non-zero, so the
// serializer emits every member the model defines.
func assertAllSet(t *testing.T, path string, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			t.Errorf("%s is not set", path)
			return
		}
		assertAllSet(t, path, v.Elem())
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			assertAllSet(t, path+"."+f.Name, v.Field(i))
		}
	case reflect.Slice, reflect.Map:
		if v.Len() == 0 {
			t.Errorf("%s is empty", path)
			return
		}
		if v.Kind() == reflect.Slice {
			for i := 0; i < v.Len(); i++ {
				assertAllSet(t, path+"[]", v.Index(i))
			}
		} else {
			for _, k := range v.MapKeys() {
				assertAllSet(t, path+"{}", v.MapIndex(k))
			}
		}
	default:
		if v.IsZero() {
			t.Errorf("%s is zero", path)
		}
	}
}
