package engine

import (
	"context"
	"encoding"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/sqlite"
)

// eventReads is a store that records the Events calls made through it.
type eventReads struct {
	ripcord.Store
	mu    sync.Mutex
	calls [][2]int64 // afterSeq, limit
}

func (r *eventReads) Events(ctx context.Context, id string, after int64, limit int) ([]ripcord.Event, error) {
	r.mu.Lock()
	r.calls = append(r.calls, [2]int64{after, int64(limit)})
	r.mu.Unlock()
	return r.Store.Events(ctx, id, after, limit)
}

func (r *eventReads) take() [][2]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

// loadStore is a store holding one execution, "x", with events evs (the
// first is ExecutionStarted), read through an eventReads.
func loadStore(t *testing.T, evs []ripcord.Event) *eventReads {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	at := evs[0].At
	if err := st.SavePlanVersion(ctx, ripcord.PlanVersion{Hash: "h", Name: "p", Source: []byte("plans: []"), Created: at}); err != nil {
		t.Fatal(err)
	}
	x := ripcord.Execution{ID: "x", PlanName: "p", PlanHash: "h", Mode: ripcord.ModeRecovery, State: ripcord.ExecRunning, Started: at, Actor: "alice"}
	if err := st.CreateExecution(ctx, x, evs[:1]); err != nil {
		t.Fatal(err)
	}
	appendEvents(t, st, evs[1:])
	return &eventReads{Store: st}
}

// appendEvents appends evs to execution x, as a person's commands would.
func appendEvents(t *testing.T, st ripcord.Store, evs []ripcord.Event) {
	t.Helper()
	for len(evs) > 0 {
		x, err := st.Execution(t.Context(), "x")
		if err != nil {
			t.Fatal(err)
		}
		n := min(len(evs), 700)
		if _, err := st.Append(t.Context(), "x", x.LastSeq, 0, evs[:n], nil); err != nil {
			t.Fatal(err)
		}
		evs = evs[n:]
	}
}

// bigLog is a log of a launch step of n servers: started, launched in
// batches of 100, each server in progress then launched, with an event
// that does not apply (a second status for a launched server).
func bigLog(n int) []ripcord.Event {
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	spec := Spec{Plan: "p", PlanHash: "h", Mode: ripcord.ModeRecovery, Targets: []ripcord.Target{{Name: "t", Account: "111122223333", Region: "us-east-1"}}}
	st := SpecStep{Name: "all", Kind: ripcord.StepLaunch}
	for i := range n {
		st.Servers = append(st.Servers, SpecServer{ID: fmt.Sprintf("s-%017x", i), Target: "t"})
	}
	spec.Steps = []SpecStep{st}
	var evs []ripcord.Event
	add := func(typ string, data any) {
		evs = append(evs, newEvent(typ, "engine", t0.Add(time.Duration(len(evs))*time.Second), data))
	}
	add(EvExecutionStarted, spec)
	add(EvStepStarted, StepStarted{Step: "all"})
	for b := 0; b*100 < n; b++ {
		var ids []string
		for _, sv := range st.Servers[b*100 : min(n, b*100+100)] {
			ids = append(ids, sv.ID)
		}
		batch, job := fmt.Sprintf("b%d", b), fmt.Sprintf("drsjob-%d", b)
		add(EvLaunchRequested, LaunchRequested{Step: "all", Batch: batch, Target: "t", Servers: ids})
		add(EvJobCreated, JobCreated{Batch: batch, JobID: job})
		for _, id := range ids {
			add(EvServerStatus, ServerStatus{Step: "all", Server: id, Status: srvLaunching, JobID: job, InstanceID: "i-" + id})
			add(EvServerStatus, ServerStatus{Step: "all", Server: id, Status: srvLaunched, JobID: job, InstanceID: "i-" + id})
		}
		add(EvServerStatus, ServerStatus{Step: "all", Server: ids[0], Status: srvFailed, JobID: job}) // does not apply: launched
	}
	add(EvStepFinished, StepFinished{Step: "all", Status: stepSucceeded})
	add(EvExecutionFinished, ExecutionFinished{State: ripcord.ExecSucceeded})
	for i := range evs {
		evs[i].Seq = int64(i + 1)
	}
	return evs
}

// TestSpecReadsTheFirstEvent: Spec is Load's Spec, from one read of one
// event.
func TestSpecReadsTheFirstEvent(t *testing.T) {
	evs := bigLog(300)
	st := loadStore(t, evs)
	e := New(Config{Store: st})
	spec, err := e.Spec(t.Context(), "x")
	if err != nil {
		t.Fatal(err)
	}
	if reads := st.take(); !slices.Equal(reads, [][2]int64{{0, 1}}) {
		t.Errorf("Spec read %v, want one event from the start", reads)
	}
	s, err := e.Load(t.Context(), "x")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(spec, s.Spec) {
		t.Errorf("Spec:\n%+v\nLoad's:\n%+v", spec, s.Spec)
	}
	if _, err := e.Spec(t.Context(), "nope"); ripcord.ErrorCode(err) != ripcord.ENOTFOUND {
		t.Errorf("Spec of a missing execution: %v, want ENOTFOUND", err)
	}
}

// TestFollowReadsOnlyNewEvents: Follow brings a loaded state up to date
// with the events appended since, reading from its last seq only (in
// pages), and ends where Load of the whole log would.
func TestFollowReadsOnlyNewEvents(t *testing.T) {
	evs := bigLog(1200) // some 2,400 events after the first 40: several pages
	st := loadStore(t, evs[:40])
	e := New(Config{Store: st})
	s, err := e.Load(t.Context(), "x")
	if err != nil {
		t.Fatal(err)
	}
	st.take()
	for _, upTo := range []int{40, 41, 600, len(evs)} {
		appendEvents(t, st.Store, evs[s.LastSeq:upTo])
		before := s.LastSeq
		n, err := e.Follow(t.Context(), s)
		if err != nil {
			t.Fatal(err)
		}
		if n != upTo-int(before) || s.LastSeq != int64(upTo) {
			t.Fatalf("Follow to %d: read %d events, last seq %d", upTo, n, s.LastSeq)
		}
		reads := st.take()
		if len(reads) == 0 || reads[0][0] != before {
			t.Fatalf("Follow to %d read %v, want reads from seq %d on", upTo, reads, before)
		}
		for i, r := range reads[1:] {
			if r[0] <= reads[i][0] {
				t.Fatalf("Follow to %d read %v: again from the same place", upTo, reads)
			}
		}
		want, err := Fold("x", evs[:upTo])
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(s, want) {
			t.Fatalf("after Follow to %d the state differs from the fold of the log", upTo)
		}
	}
	if s.State != ripcord.ExecSucceeded {
		t.Errorf("state %s", s.State)
	}
}

// TestApplyIsFoldInParts: folding a log in two parts, at any point, is
// folding it at once; a gap is an error.
func TestApplyIsFoldInParts(t *testing.T) {
	evs := bigLog(150)
	want, err := Fold("x", evs)
	if err != nil {
		t.Fatal(err)
	}
	for k := range len(evs) + 1 {
		s, err := Fold("x", evs[:k])
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Apply(evs[k:]...); err != nil {
			t.Fatalf("apply from %d: %v", k, err)
		}
		if !reflect.DeepEqual(s, want) {
			t.Fatalf("fold of %d events then Apply of the rest differs from Fold", k)
		}
	}
	s, _ := Fold("x", evs[:10])
	if err := s.Apply(evs[11:]...); err == nil {
		t.Error("Apply over a gap: no error")
	}
}

// TestFastDecodersAgreeWithJSON: whatever the fold's own decoders take,
// encoding/json decodes alike; what json.Marshal writes, they take.
func TestFastDecodersAgreeWithJSON(t *testing.T) {
	for _, data := range fastDecoderSeeds() {
		checkFastDecoders(t, data)
	}
	s := bigState()
	for _, v := range []any{
		ServerStatus{Step: "all", Server: "s-1", Status: srvLaunched, JobID: "j", InstanceID: "i-1", Reason: "r"},
		ServerStatus{},
		LaunchRequested{Step: "all", Batch: "b", Target: "t", Servers: []string{"s-1", "s-2"}, DRSTime: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)},
		LaunchRequested{},
		fullSpec(),
		Spec{},
	} {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var ok bool
		switch v.(type) {
		case ServerStatus:
			_, ok = s.decodeServerStatus(data)
		case LaunchRequested:
			_, ok = s.decodeLaunchRequested(data)
		case Spec:
			ok = decodeSpec(data, new(Spec))
		}
		if !ok {
			t.Errorf("json.Marshal's %T is not taken: %s", v, data)
		}
	}
}

// FuzzFastDecoders: go test -fuzz FuzzFastDecoders ./engine/
func FuzzFastDecoders(f *testing.F) {
	for _, data := range fastDecoderSeeds() {
		f.Add(data)
	}
	f.Fuzz(checkFastDecoders)
}

// checkFastDecoders checks that each decoder either refuses data or
// decodes it as encoding/json does.
func checkFastDecoders(t *testing.T, data []byte) {
	for _, s := range []*State{newState("x"), bigState()} {
		if d, ok := s.decodeServerStatus(data); ok {
			var want ServerStatus
			if err := json.Unmarshal(data, &want); err != nil || !reflect.DeepEqual(d, want) {
				t.Errorf("ServerStatus %q: %+v; encoding/json: %+v, %v", data, d, want, err)
			}
		}
		if d, ok := s.decodeLaunchRequested(data); ok {
			var want LaunchRequested
			if err := json.Unmarshal(data, &want); err != nil || !reflect.DeepEqual(d, want) {
				t.Errorf("LaunchRequested %q: %+v; encoding/json: %+v, %v", data, d, want, err)
			}
		}
	}
	var spec Spec
	if decodeSpec(data, &spec) {
		var want Spec
		if err := json.Unmarshal(data, &want); err != nil || !reflect.DeepEqual(spec, want) {
			t.Errorf("Spec %q: %+v; encoding/json: %+v, %v", data, spec, want, err)
		}
	}
}

// bigState is a started execution with a step "all" of servers s-1, s-2.
func bigState() *State {
	s := newState("x")
	spec := Spec{Steps: []SpecStep{{Name: "all", Kind: ripcord.StepLaunch, Servers: []SpecServer{{ID: "s-1", Target: "t"}, {ID: "s-2", Target: "t"}}}}}
	if err := s.apply(newEvent(EvExecutionStarted, "engine", time.Unix(1, 0), spec)); err != nil {
		panic(err)
	}
	s.Steps["all"].Servers["s-1"].JobID, s.Steps["all"].Servers["s-1"].InstanceID = "j", "i-1"
	return s
}

func fullSpec() Spec {
	return Spec{Plan: "p", PlanHash: "h", Mode: ripcord.ModeDrill,
		Settings: ripcord.Settings{RTOTarget: time.Hour, FailurePolicy: ripcord.FailurePause, ConflictDeadline: time.Minute, OutageLimit: 2},
		Steps: []SpecStep{
			{Name: "db", Kind: ripcord.StepLaunch, Servers: []SpecServer{{ID: "s-1", Target: "t", Optional: true, Expected: -5}, {ID: "s-2", Target: "u", Expected: 1 << 62}}},
			{Name: "wait", Kind: ripcord.StepWait, After: []string{"db", "x"}, Duration: time.Minute},
		},
		Tags: map[string]string{"a": "b"}, Targets: []ripcord.Target{{Name: "t", Account: "1", Region: "r", Endpoint: "http://x"}}, Exclusive: "p@1/r"}
}

// fastDecoderSeeds are payloads in json.Marshal's form and near misses:
// what the decoders take, and what they must leave to encoding/json.
func fastDecoderSeeds() [][]byte {
	seeds := []string{
		`{"step":"all","server":"s-1","status":"LAUNCHED","jobID":"j","instanceID":"i-1"}`,
		`{"step":"all","server":"s-2","status":"IN_PROGRESS","jobID":"j2","instanceID":"i-9","reason":""}`,
		` { "step" : "all" , "server":"s-1" } ` + "\n",
		`{}`, `null`, `[]`, `""`, ``, `{`, `{"step":"all"`, `{"step":"all",}`, `{"step":"all"}x`, `{"step":"all"}{}`,
		`{"Step":"all"}`, `{"SERVER":"s-1"}`, `{"step":"all","step":"web"}`, `{"step":null}`, `{"step":1}`,
		`{"step":"a\u006cl"}`, `{"step":"a\"b"}`, `{"step":"caf` + "\xc3\xa9" + `"}`, `{"step":"` + "\xff" + `"}`, "{\"step\":\"a\tb\"}",
		`{"step":"a` + "\x7f" + `b"}`, `{"other":"x"}`,
		`{"step":"all","batch":"b1","target":"t","servers":["s-1","s-2","s-9"],"drsTime":"2026-01-02T03:04:05.000000006Z"}`,
		`{"step":"all","batch":"b1","servers":[]}`, `{"servers":null}`, `{"servers":["s-1",]}`, `{"servers":["s-1" "s-2"]}`,
		`{"servers":["s-1"],"step":"all"}`, `{"drsTime":"yesterday"}`, `{"drsTime":null}`, `{"drsTime":"2026-01-02T03:04:05+01:00"}`,
		`{"plan":"p","mode":"drill","settings":{"failurePolicy":"stop","conflictDeadline":60000000000},"steps":[{"name":"db","kind":"launch","servers":[{"id":"s-1","target":"t","optional":true,"expected":600000000000}]}]}`,
		`{"steps":[]}`, `{"steps":null}`, `{"steps":[{}]}`, `{"steps":[{"name":"w","kind":"wait","after":[],"duration":-1}]}`,
		`{"steps":[{"servers":[{"id":"s","expected":1e3}]}]}`, `{"steps":[{"servers":[{"id":"s","expected":1.5}]}]}`,
		`{"steps":[{"servers":[{"id":"s","expected":01}]}]}`, `{"steps":[{"servers":[{"id":"s","expected":-0}]}]}`,
		`{"steps":[{"servers":[{"id":"s","expected":99999999999999999999}]}]}`, `{"steps":[{"servers":[{"id":"s","expected":-}]}]}`,
		`{"steps":[{"servers":[{"optional":tru}]}]}`, `{"steps":[{"servers":[{"optional":false}]}]}`, `{"steps":[{"servers":[{"optional":"true"}]}]}`,
		`{"steps":[{"servers":[{"id":"s","id":"t"}]}]}`, `{"steps":[{"Servers":[]}]}`, `{"steps":[{"name":"a"}],"steps":[{"kind":"launch"}]}`,
		`{"settings":{"failurePolicy":"pause","rtoTarget":1},"tags":{"a":"b","c":"\u00e9"},"targets":[{"name":"t","account":"1"}]}`,
		`{"settings":{"failurePolicy":"pause"},"settings":{"rtoTarget":1}}`, `{"settings":{"rtoTarget":"1h"}}`, `{"settings":{"x":[1,{"y":"]}"}]}}`,
		`{"tags":null}`, `{"tags":{"a":1}}`, `{"targets":[{"name":"t"},]}`, `{"settings":{"a":"\\"}}`, `{"settings":"}`, `{"settings":{`,
		`{"exclusive":"p@1/r","planHash":"h"}`, `{"mode":"recovery","unknown":{}}`,
	}
	out := make([][]byte, len(seeds))
	for i, s := range seeds {
		out[i] = []byte(s)
	}
	return out
}

// TestFastDecodedTypes: the types decoded by hand have the fields the
// decoders know (a new field would send every payload to encoding/json:
// right, but slow), and none decodes itself (which the decoders would
// bypass).
func TestFastDecodedTypes(t *testing.T) {
	for _, tc := range []struct {
		v    any
		keys []string
	}{
		{ServerStatus{}, []string{"step", "server", "status", "jobID", "instanceID", "reason"}},
		{LaunchRequested{}, []string{"step", "batch", "target", "servers", "drsTime"}},
		{Spec{}, []string{"plan", "planHash", "mode", "settings", "steps", "tags", "targets", "launch", "exclusive"}},
		{SpecStep{}, []string{"name", "kind", "after", "duration", "servers", "approval", "health", "checks", "hook", "hooks"}},
		{SpecServer{}, []string{"id", "target", "optional", "expected"}},
	} {
		typ := reflect.TypeOf(tc.v)
		var keys []string
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			keys = append(keys, name)
			ft := f.Type
			for ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			p := reflect.PointerTo(ft)
			if p.Implements(reflect.TypeFor[json.Unmarshaler]()) && ft != reflect.TypeFor[time.Time]() ||
				p.Implements(reflect.TypeFor[encoding.TextUnmarshaler]()) && ft != reflect.TypeFor[time.Time]() {
				t.Errorf("%s.%s (%s) decodes itself: the fold's decoder would bypass it", typ.Name(), f.Name, ft)
			}
		}
		if !slices.Equal(keys, tc.keys) {
			t.Errorf("%s has the JSON keys %v; the fold's decoder knows %v: update it (state.go)", typ.Name(), keys, tc.keys)
		}
	}
}
