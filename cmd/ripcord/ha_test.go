package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/postgres"
	"github.com/ripcord-dr/ripcord/postgres/pgtest"
)

// replica is one `ripcord serve` process of an HA test.
type replica struct {
	t      testing.TB
	bin    string
	args   []string
	env    []string
	cmd    *exec.Cmd
	url    string
	exited chan struct{}
	mu     sync.Mutex
	log    strings.Builder // its stderr
	grew   chan struct{}   // closed (and replaced) when log grows
}

// startReplica starts `ripcord serve` on a free loopback port and waits for
// the line that says where it listens.
func startReplica(ctx context.Context, t testing.TB, bin string, env []string, args ...string) *replica {
	t.Helper()
	r := &replica{t: t, bin: bin, args: args, env: env}
	r.start(ctx)
	t.Cleanup(func() { r.kill() })
	return r
}

func (r *replica) start(ctx context.Context) {
	r.t.Helper()
	r.cmd = exec.Command(r.bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, r.args...)...)
	r.cmd.Env = r.env
	pr, err := r.cmd.StderrPipe()
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.exited = make(chan struct{})
	r.mu.Lock()
	r.grew = make(chan struct{})
	r.mu.Unlock()
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			r.mu.Lock()
			r.log.WriteString(line + "\n")
			close(r.grew)
			r.grew = make(chan struct{})
			r.mu.Unlock()
			if rest, ok := strings.CutPrefix(line, "serving on "); ok {
				select {
				case urls <- strings.Fields(rest)[0]:
				default:
				}
			}
		}
		_ = r.cmd.Wait()
		close(r.exited)
	}()
	select {
	case u := <-urls:
		r.url = u
	case <-r.exited:
		r.t.Fatalf("ripcord serve exited before listening:\n%s", r.stderr())
	case <-ctx.Done():
		r.t.Fatalf("ripcord serve did not listen in time:\n%s", r.stderr())
	}
}

func (r *replica) stderr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.log.String()
}

func (r *replica) pid() int { return r.cmd.Process.Pid }

// waitLog waits until the replica's log has a line containing s.
func (r *replica) waitLog(ctx context.Context, s string, or ...string) {
	r.t.Helper()
	for {
		r.mu.Lock()
		found, grew := strings.Contains(r.log.String(), s), r.grew
		for _, o := range or {
			found = found || strings.Contains(r.log.String(), o)
		}
		r.mu.Unlock()
		if found {
			return
		}
		select {
		case <-grew:
		case <-r.exited:
			r.t.Fatalf("the replica exited without logging %q:\n%s", s, r.stderr())
		case <-ctx.Done():
			r.t.Fatalf("the replica did not log %q:\n%s", s, r.stderr())
		}
	}
}

// kill ends the process with SIGKILL (and SIGCONT, should it be stopped)
// and waits for it.
func (r *replica) kill() {
	select {
	case <-r.exited:
		return
	default:
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Process.Signal(syscall.SIGCONT)
	<-r.exited
}

// haWorld is a simulator process, a throwaway PostgreSQL database and a
// store on it for the test's own reading, and an admin token.
type haWorld struct {
	bin, dsn, sim, token string
	env                  []string
	store                *postgres.Store
	simProc              *simProc
}

func newHAWorld(ctx context.Context, t testing.TB, simArgs ...string) *haWorld {
	t.Helper()
	w := &haWorld{bin: buildRipcord(ctx, t), dsn: pgtest.Database(t)}
	w.simProc = startSimProc(ctx, t, w.bin, simArgs...)
	w.sim = w.simProc.url
	w.env = newCLIRunner(t, "").env
	out, err := exec.CommandContext(ctx, w.bin, "token", "create", "--db", w.dsn, "--role", "admin", "--name", "ha-test").Output()
	if err != nil {
		t.Fatalf("token create: %v", err)
	}
	w.token = strings.TrimSpace(string(out))
	st, err := postgres.Open(ctx, w.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w.store = st
	return w
}

// serveArgs are the flags of every replica: short leases and scans, so
// that a test's takeovers take seconds.
func (w *haWorld) serveArgs() []string {
	return []string{"--db", w.dsn, "--endpoint-url", w.sim, "--poll", "100ms", "--rate-limit", "100",
		"--scan", "300ms", "--lease-ttl", "3s", "--heartbeat", "500ms", "--log-level", "info"}
}

func (w *haWorld) client(t testing.TB, r *replica) *client.Client {
	t.Helper()
	c, err := client.New(r.url, w.token)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// haPlans is a plan file for the scale scenario with 3600 servers, in
// account 111122223333: "big", 300 servers in us-east-1 and us-west-2 in
// three waves; "east" and "west", 150 servers each in one region; and
// "many" and "many2", 24 one-server steps each side by side in us-east-1,
// more jobs at once than DRS's quota of active jobs allows. "many2" names
// us-east-1 "east2": its executions get an engine (and quota keeper) of
// their own, so launches in us-east-1 must be coordinated through the
// store, across engines and replicas. Server i of the scenario is in
// account i%3, region (i/3)%2, and application i/300.
func haPlans() string {
	var b strings.Builder
	b.WriteString("targets:\n  - {name: east, account: \"111122223333\", region: us-east-1}\n  - {name: west, account: \"111122223333\", region: us-west-2}\n")
	b.WriteString("  - {name: east2, account: \"111122223333\", region: us-east-1}\n")
	b.WriteString("protectionGroups:\n")
	for _, app := range []int{0, 1, 4, 5, 8, 9} {
		for _, tg := range []string{"east", "west"} {
			fmt.Fprintf(&b, "  - {name: app%02d-%s, target: %s, selector: {Application: app-%02d}}\n", app, tg, tg, app)
		}
	}
	var many, many2 []int
	for i := 600; len(many) < 24; i += 6 { // app-02, us-east-1, account A
		many = append(many, i)
		fmt.Fprintf(&b, "  - {name: one-%d, target: east, selector: {Index: \"%d\"}}\n", i, i)
	}
	for i := 900; len(many2) < 24; i += 6 { // app-03, us-east-1, account A
		many2 = append(many2, i)
		fmt.Fprintf(&b, "  - {name: one-%d, target: east2, selector: {Index: \"%d\"}}\n", i, i)
	}
	b.WriteString("plans:\n")
	b.WriteString("  - name: big\n    waves:\n")
	for i, app := range []int{0, 4, 8} {
		fmt.Fprintf(&b, "      - {name: w%d, groups: [app%02d-east, app%02d-west]}\n", i, app, app)
	}
	for _, tg := range []string{"east", "west"} {
		fmt.Fprintf(&b, "  - name: %s\n    waves:\n", tg)
		for i, app := range []int{1, 5, 9} {
			fmt.Fprintf(&b, "      - {name: w%d, groups: [app%02d-%s]}\n", i, app, tg)
		}
	}
	for name, ids := range map[string][]int{"many": many, "many2": many2} {
		fmt.Fprintf(&b, "  - name: %s\n    steps:\n", name)
		for _, i := range ids {
			fmt.Fprintf(&b, "      - {name: s%d, groups: [one-%d]}\n", i, i)
		}
	}
	return b.String()
}

// TestHAChaos: three `ripcord serve` replicas on one PostgreSQL and the
// simulator run five drills (one of 300 servers, two of more one-server
// steps than DRS allows active jobs, in one region under two names) while a random replica is killed with
// SIGKILL and started again, a bounded number of times, paced by the
// events the replicas record (the test waits on the store's notes, never
// on a timer). At the end, on the simulator's own record: every drill
// succeeded, every server of every drill is in exactly one LAUNCH job of
// that drill, DRS's quotas were never exceeded and DRS refused no launch
// (it refuses what would exceed them),
// and every event log is gap-free with fencing epochs that only grow.
func TestHAChaos(t *testing.T) {
	t.Parallel() // real processes, a database and a simulator of its own
	ctx, cancel := context.WithTimeout(t.Context(), 6*time.Minute)
	defer cancel()
	w := newHAWorld(ctx, t, "--scenario", "scale", "--servers", "3600", "--time-scale", "60")
	var reps []*replica
	for range 3 {
		reps = append(reps, startReplica(ctx, t, w.bin, w.env, w.serveArgs()...))
	}
	admin := w.client(t, reps[0])
	if _, err := admin.SavePlans(ctx, "ha.yaml", []byte(haPlans())); err != nil {
		t.Fatal(err)
	}
	notes, err := w.store.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"big": 300, "east": 150, "west": 150, "many": 24, "many2": 24}
	ids := map[string]string{} // execution ID -> plan
	for i, p := range []string{"big", "east", "west", "many", "many2"} {
		x, err := w.client(t, reps[i%3]).Start(ctx, client.StartRequest{Plan: p, Mode: "drill"})
		if err != nil {
			t.Fatalf("start %s: %v", p, err)
		}
		ids[x.ID] = p
	}

	// Chaos: after every `every` events, SIGKILL a random replica and
	// start it again; at most `kills` times.
	const kills, every = 6, 60
	rng := rand.New(rand.NewPCG(1, 2))
	events, killed := 0, 0
	done := func() bool {
		for id := range ids {
			x, err := w.store.Execution(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if x.State == ripcord.ExecRunning {
				return false
			}
		}
		return true
	}
	for !done() {
		select {
		case n, ok := <-notes:
			if !ok {
				t.Fatalf("the store's notes ended: %v", ctx.Err())
			}
			if n.Kind != ripcord.NoteEvents {
				continue
			}
			events++
		case <-ctx.Done():
			t.Fatalf("the drills did not finish in time; replica logs:\n%s", tails(reps))
		}
		if events >= (killed+1)*every && killed < kills {
			r := reps[rng.IntN(len(reps))]
			t.Logf("event %d: SIGKILL replica pid %d", events, r.pid())
			r.kill()
			r.start(ctx)
			killed++
		}
	}
	if killed == 0 {
		t.Fatalf("no replica was killed (%d events): the test proved nothing", events)
	}

	// Every drill succeeded, and its log is gap-free, fenced, and shows
	// the takeovers.
	takeovers := 0
	for id, p := range ids {
		x, err := w.store.Execution(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if x.State != ripcord.ExecSucceeded {
			t.Errorf("drill %s of %s ended %s: %s", id, p, x.State, x.Summary)
		}
		evs, err := w.store.Events(ctx, id, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		epoch := int64(0)
		for i, ev := range evs {
			if ev.Seq != int64(i+1) {
				t.Fatalf("execution %s: event %d has seq %d: the log has a gap", id, i+1, ev.Seq)
			}
			switch ev.Type {
			case engine.EvDriverStarted:
				var d engine.DriverStarted
				if err := json.Unmarshal(ev.Data, &d); err != nil {
					t.Fatal(err)
				}
				if d.Epoch <= epoch {
					t.Errorf("execution %s: driver started with epoch %d after epoch %d", id, d.Epoch, epoch)
				}
				epoch = d.Epoch
				if d.TookOver != nil {
					takeovers++
				}
			case engine.EvLaunchRefused:
				// Nothing else acts in this simulator: a refusal by
				// DRS (ServiceQuotaExceededException above all) means
				// launches were not coordinated. UNCLEAR is ripcord's
				// own: a replica killed between its intent and its
				// StartRecovery, whose batch the next driver gave up.
				var lr engine.LaunchRefused
				if err := json.Unmarshal(ev.Data, &lr); err != nil || lr.Code != "UNCLEAR" {
					t.Errorf("execution %s: DRS refused a launch: %s", id, ev.Data)
				}
			}
		}
	}
	t.Logf("%d events, %d replicas killed, %d takeovers recorded", events, killed, takeovers)

	// The simulator's record: one LAUNCH job per server per drill, and the
	// quotas held at every instant.
	for _, region := range []string{"us-east-1", "us-west-2"} {
		view := simState(t, w.sim, region)
		perExec := map[string]map[string]int{}
		for _, j := range view.Jobs {
			if j.Type != "LAUNCH" || j.Foreign {
				continue
			}
			x := j.Tags["ripcord:execution"]
			if _, ok := ids[x]; !ok {
				t.Errorf("%s: LAUNCH job %s is not of a drill of this test (tags %v)", region, j.JobID, j.Tags)
				continue
			}
			if perExec[x] == nil {
				perExec[x] = map[string]int{}
			}
			for _, s := range j.Servers {
				perExec[x][s.SourceServerID]++
			}
		}
		for id, servers := range perExec {
			for s, n := range servers {
				if n != 1 {
					t.Errorf("%s: server %s is in %d LAUNCH jobs of drill %s, want 1", region, s, n, id)
				}
			}
		}
		checkQuotas(t, region, view)
	}
	launched := map[string]int{}
	for _, region := range []string{"us-east-1", "us-west-2"} {
		for _, j := range simState(t, w.sim, region).Jobs {
			if j.Type == "LAUNCH" && !j.Foreign {
				launched[ids[j.Tags["ripcord:execution"]]] += len(j.Servers)
			}
		}
	}
	for p, n := range want {
		if launched[p] != n {
			t.Errorf("drill %s: %d servers in LAUNCH jobs, want %d", p, launched[p], n)
		}
	}
}

// checkQuotas sweeps a region's jobs in time: at no instant more active
// jobs, or servers in active jobs, than DRS allows (the engine's defaults,
// which are DRS's).
func checkQuotas(t *testing.T, region string, view drssim.RegionView) {
	t.Helper()
	type edge struct {
		at      time.Time
		jobs, n int
	}
	var edges []edge
	for _, j := range view.Jobs {
		if j.Deleted {
			continue
		}
		if len(j.Servers) > 100 {
			t.Errorf("%s: job %s has %d servers, more than DRS's 100 per job", region, j.JobID, len(j.Servers))
		}
		edges = append(edges, edge{j.Created, 1, len(j.Servers)})
		if !j.Ended.IsZero() {
			edges = append(edges, edge{j.Ended, -1, -len(j.Servers)})
		}
	}
	// Ends before starts at the same instant: DRS frees a job's slot as
	// it ends.
	sort.SliceStable(edges, func(a, b int) bool {
		if !edges[a].at.Equal(edges[b].at) {
			return edges[a].at.Before(edges[b].at)
		}
		return edges[a].jobs < edges[b].jobs
	})
	jobs, n, maxJobs, maxN := 0, 0, 0, 0
	for _, e := range edges {
		jobs += e.jobs
		n += e.n
		maxJobs, maxN = max(maxJobs, jobs), max(maxN, n)
	}
	if maxJobs > 20 || maxN > 500 {
		t.Errorf("%s: at one instant %d active jobs and %d servers in active jobs; DRS allows 20 and 500", region, maxJobs, maxN)
	}
	t.Logf("%s: at most %d active jobs and %d servers in active jobs at once", region, maxJobs, maxN)
}

// simState reads the simulator's record of account 111122223333 in region.
func simState(t *testing.T, url, region string) drssim.RegionView {
	t.Helper()
	var view drssim.StateView
	getJSON(t, url+"/_sim/state?account=111122223333&region="+region, &view)
	if len(view.Regions) != 1 {
		t.Fatalf("simulator state for %s: %d regions", region, len(view.Regions))
	}
	return view.Regions[0]
}

func getJSON(t *testing.T, url string, out any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s: %s", url, resp.Status, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

// tails is the end of every replica's log, for a failure message.
func tails(reps []*replica) string {
	var b strings.Builder
	for i, r := range reps {
		lines := strings.Split(strings.TrimSpace(r.stderr()), "\n")
		fmt.Fprintf(&b, "--- replica %d (pid %d)\n%s\n", i, r.pid(), strings.Join(lines[max(0, len(lines)-15):], "\n"))
	}
	return b.String()
}

// TestHASplitBrain: the replica that drives a drill is stopped with
// SIGSTOP past its lease; another replica takes the drill over; then the
// stopped one is continued. From then on it makes no DRS call (counted by
// the simulator per process, from the User-Agent's app ID) and appends no
// event: the log shows one driver per epoch and no record of the old
// driver after the takeover, and the drill succeeds with one LAUNCH job
// per server.
func TestHASplitBrain(t *testing.T) {
	t.Parallel() // real processes, a database and a simulator of its own
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	w, stopped, other, x, l, notes := driveOnTwoReplicas(ctx, t, (*haWorld).serveArgs)
	a, b := stopped, other
	if err := stopped.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// The other replica takes over once the lease expires.
	waitEvent(ctx, t, w, notes, x.ID, func(ev ripcord.Event) bool {
		if ev.Type != engine.EvDriverStarted {
			return false
		}
		var d engine.DriverStarted
		return json.Unmarshal(ev.Data, &d) == nil && d.Owner.PID == other.pid() && d.Epoch > l.Epoch
	})
	app := fmt.Sprintf("ripcord-%d", stopped.pid())
	last, err := w.store.Execution(ctx, x.ID)
	if err != nil {
		t.Fatal(err)
	}
	contAt := time.Now()
	if err := stopped.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	// The drill goes on to its end, driven by the other replica.
	waitEnded(ctx, t, w, notes, x.ID, a, b)
	// The continued replica's old driver wakes, finds its lease lost
	// before any DRS call, and stops (its log says so). If it was stopped
	// inside a transaction, PostgreSQL ended that session meanwhile
	// (idle_in_transaction_session_timeout, so that the takeover did not
	// wait on its row lock): then the store's error stops the driver.
	stopped.waitLog(ctx, "lost the lease", "driving an execution failed")
	evs, err := w.store.Events(ctx, x.ID, last.LastSeq, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Type == engine.EvDriverStopped {
			var d engine.DriverStopped
			if json.Unmarshal(ev.Data, &d) == nil && d.Epoch <= l.Epoch {
				t.Errorf("the stopped driver (epoch %d) recorded its stop after the takeover: %s", l.Epoch, ev.Data)
			}
		}
		if ev.Type == engine.EvDriverStarted {
			var d engine.DriverStarted
			if json.Unmarshal(ev.Data, &d) == nil && d.Owner.PID == stopped.pid() {
				t.Errorf("the continued replica took the drill back (epoch %d): it should stay where it is driven", d.Epoch)
			}
		}
	}
	final, err := w.store.Execution(ctx, x.ID)
	if err != nil {
		t.Fatal(err)
	}
	if final.State != ripcord.ExecSucceeded {
		t.Errorf("the drill ended %s: %s", final.State, final.Summary)
	}
	wantOneLaunchEach(t, w.sim, 6)

	// The simulator's request log (its clock is this machine's): what the
	// continued replica sent after it was continued. A process frozen in
	// the instant between its last lease check and the request leaving
	// sends that one request when continued; a DRS read is all it may be
	// (a mutation's check is a store round trip right before the call).
	var after []string
	for _, line := range strings.Split(w.simProc.stop(ctx, t), "\n") {
		var rq struct {
			Time time.Time `json:"time"`
			Msg  string    `json:"msg"`
			Op   string    `json:"op"`
			App  string    `json:"app"`
		}
		if json.Unmarshal([]byte(line), &rq) != nil || rq.Msg != "drs request" || rq.App != app || rq.Time.Before(contAt) {
			continue
		}
		after = append(after, rq.Op)
	}
	t.Logf("DRS requests of the continued replica after SIGCONT: %v", after)
	if len(after) > 1 || len(after) == 1 && (after[0] == "StartRecovery" || after[0] == "TerminateRecoveryInstances") {
		t.Errorf("the continued replica (app %s) sent %v after its lease was taken over; at most the one read it was frozen in the middle of may go\nits log:\n%s",
			app, after, stopped.stderr())
	}
}

// driveOnTwoReplicas starts two replicas with the flags args gives, the
// three-tier example's drill through the second, and waits for its first
// launch job. It returns the replica that drives it (by its lease) and the
// other, the drill, its lease then, and the store's notes.
func driveOnTwoReplicas(ctx context.Context, t *testing.T, args func(*haWorld) []string) (w *haWorld, driving, other *replica, x ripcord.Execution, l ripcord.Lease, notes <-chan ripcord.Note) {
	t.Helper()
	w = newHAWorld(ctx, t, "--scenario", "three-tier", "--time-scale", "60")
	a := startReplica(ctx, t, w.bin, w.env, args(w)...)
	b := startReplica(ctx, t, w.bin, w.env, args(w)...)
	yaml, err := os.ReadFile("../../examples/three-tier.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.client(t, a).SavePlans(ctx, "three-tier.yaml", yaml); err != nil {
		t.Fatal(err)
	}
	if notes, err = w.store.Subscribe(ctx); err != nil {
		t.Fatal(err)
	}
	if x, err = w.client(t, b).Start(ctx, client.StartRequest{Plan: "orders", Mode: "drill"}); err != nil {
		t.Fatal(err)
	}
	waitEvent(ctx, t, w, notes, x.ID, func(ev ripcord.Event) bool { return ev.Type == engine.EvJobCreated })
	if l, err = w.store.Lease(ctx, x.ID); err != nil {
		t.Fatal(err)
	}
	switch l.Owner.PID {
	case a.pid():
		return w, a, b, x, l, notes
	case b.pid():
		return w, b, a, x, l, notes
	}
	t.Fatalf("the lease is held by %s, neither replica", l.Owner)
	return
}

// waitEnded waits, on the store's notes, until execution id is no longer
// running, and returns it.
func waitEnded(ctx context.Context, t testing.TB, w *haWorld, notes <-chan ripcord.Note, id string, reps ...*replica) ripcord.Execution {
	t.Helper()
	for {
		x, err := w.store.Execution(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if x.State != ripcord.ExecRunning {
			return x
		}
		select {
		case <-notes:
		case <-ctx.Done():
			t.Fatalf("execution %s did not end; logs:\n%s", id, tails(reps))
		}
	}
}

// waitEvent waits, on the store's notes, for an event of execution id that
// match accepts, and returns it.
func waitEvent(ctx context.Context, t testing.TB, w *haWorld, notes <-chan ripcord.Note, id string, match func(ripcord.Event) bool) ripcord.Event {
	t.Helper()
	var after int64
	for {
		evs, err := w.store.Events(ctx, id, after, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if match(ev) {
				return ev
			}
			after = ev.Seq
		}
		select {
		case <-notes:
		case <-ctx.Done():
			t.Fatalf("execution %s: the awaited event did not come", id)
		}
	}
}

// TestHAGracefulHandover: the replica that drives a drill is stopped with
// SIGTERM; the other takes the drill up at once, not when the lease would
// have expired (it lasts five minutes here, longer than the test may take):
// the stopping replica left the registry and released the lease, and the
// store's notes told the other. The drill succeeds, one LAUNCH job per
// server.
func TestHAGracefulHandover(t *testing.T) {
	t.Parallel() // real processes, a database and a simulator of its own
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	w, leaving, other, x, l, notes := driveOnTwoReplicas(ctx, t, func(w *haWorld) []string {
		return append(w.serveArgs(), "--lease-ttl", "5m", "--scan", "5m")
	})
	a, b := leaving, other
	if err := leaving.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitEvent(ctx, t, w, notes, x.ID, func(ev ripcord.Event) bool {
		var d engine.DriverStarted
		return ev.Type == engine.EvDriverStarted && json.Unmarshal(ev.Data, &d) == nil && d.Owner.PID == other.pid()
	})
	select {
	case <-leaving.exited:
	case <-ctx.Done():
		t.Fatal("the stopped replica did not exit")
	}
	if x := waitEnded(ctx, t, w, notes, x.ID, a, b); x.State != ripcord.ExecSucceeded {
		t.Fatalf("the drill ended %s: %s", x.State, x.Summary)
	}
	evs, err := w.store.Events(ctx, x.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	stops := 0
	for _, ev := range evs {
		if ev.Type == engine.EvDriverStopped {
			var d engine.DriverStopped
			if json.Unmarshal(ev.Data, &d) == nil && d.Epoch == l.Epoch {
				stops++
				if !strings.Contains(d.Reason, "soft stop") {
					t.Errorf("the leaving replica's driver stopped with %q; want a soft stop", d.Reason)
				}
			}
		}
	}
	if stops != 1 {
		t.Errorf("the leaving replica's driver (epoch %d) recorded %d stops; want 1", l.Epoch, stops)
	}
	wantOneLaunchEach(t, w.sim, 6)
}
