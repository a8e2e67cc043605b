package drssim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"
	"github.com/aws/smithy-go"
)

// Benchmarks of the simulator at scale: the "scale" scenario (3000 servers
// over 3 accounts x 2 regions, 500 per account and region) served over real
// HTTP on loopback. The goal (from the issue) is at least 2000 requests per
// second on a two-core machine with under 200 MB of memory. Run them with
//
//	go test -run='^$' -bench=Scale -benchtime=5s ./drssim
//
// BenchmarkScaleMixed drives the simulator with real SDK clients, as an
// orchestrator would. Client and server share the machine, and decoding a
// page of 50 source servers costs the SDK several times what producing it
// costs the simulator, so that figure is bound by the client.
// BenchmarkScaleMixedWire sends the same request mix as plain signed-shape
// HTTP requests and only skims the responses: it measures what the
// simulator itself can serve. Both also run their client load against a
// trivial handler (the loopback baseline) and report the ratio, and both
// report the process's CPU time per request, which, unlike req/s, hardly
// depends on what else the machine is running.

// benchStart is the simulated time the benchmarks begin at.
var benchStart = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// benchParallelism is goroutines per GOMAXPROCS in RunParallel: an
// orchestrator polls many jobs and servers at once, so the server always has
// several requests in flight.
const benchParallelism = 4

// benchScaleKeys are the scale scenario's access keys, one per account.
var benchScaleKeys = []string{"AKIDSCALEACCOUNTA", "AKIDSCALEACCOUNTB", "AKIDSCALEACCOUNTC"}

var benchScaleRegions = []string{"us-east-1", "us-west-2"}

// benchJobIDPlaceholder is a well-formed job ID that no region has: what an
// orchestrator polls before its first job exists.
const benchJobIDPlaceholder = "drsjob-00000000000000000"

// benchRegion is one account and region as the load generator sees it.
type benchRegion struct {
	key, name string
	servers   []string // its source server IDs
	sim, base *drs.Client

	mu   sync.Mutex
	jobs []string // IDs of jobs StartRecovery created, oldest first
}

func (r *benchRegion) addJob(id string) {
	r.mu.Lock()
	r.jobs = append(r.jobs, id)
	r.mu.Unlock()
}

// recentJobs returns up to n of the newest job IDs: the jobs an
// orchestrator is still polling.
func (r *benchRegion) recentJobs(n int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.jobs) < n {
		n = len(r.jobs)
	}
	return append([]string(nil), r.jobs[len(r.jobs)-n:]...)
}

// The orchestrator's request mix.
type benchOp int

const (
	benchPollJobs      benchOp = iota // DescribeJobs of 1-5 recent jobs by ID (30%)
	benchServersByID                  // DescribeSourceServers of 10-50 servers by ID (25%)
	benchServersPage                  // DescribeSourceServers, next page of 50 (23%)
	benchInstances                    // DescribeRecoveryInstances, 50 (20%)
	benchStartRecovery                // StartRecovery drill of 2-5 servers (2%)
)

// benchCall is one request of the mix.
type benchCall struct {
	op     benchOp
	region *benchRegion
	ids    []string // job IDs or server IDs
}

// benchWorker is one client goroutine's state.
type benchWorker struct {
	rng     *rand.Rand
	cursors map[*benchRegion]string // DescribeSourceServers paging position per region
}

var benchWorkerSeed atomic.Uint64

func newBenchWorker() *benchWorker {
	return &benchWorker{rng: rand.New(rand.NewPCG(1, benchWorkerSeed.Add(1))), cursors: map[*benchRegion]string{}}
}

// next draws the next request of the mix.
func (w *benchWorker) next(regions []*benchRegion) benchCall {
	r := regions[w.rng.IntN(len(regions))]
	c := benchCall{region: r}
	switch p := w.rng.IntN(100); {
	case p < 30:
		c.op = benchPollJobs
		if c.ids = r.recentJobs(1 + w.rng.IntN(5)); len(c.ids) == 0 {
			c.ids = []string{benchJobIDPlaceholder}
		}
	case p < 55:
		c.op = benchServersByID
		c.ids = make([]string, 10+w.rng.IntN(41))
		off := w.rng.IntN(len(r.servers))
		for i := range c.ids {
			c.ids[i] = r.servers[(off+i*7)%len(r.servers)]
		}
	case p < 78:
		c.op = benchServersPage
	case p < 98:
		c.op = benchInstances
	default:
		c.op = benchStartRecovery
		c.ids = make([]string, 2+w.rng.IntN(4))
		off := w.rng.IntN(len(r.servers))
		for i := range c.ids {
			c.ids[i] = r.servers[(off+i)%len(r.servers)]
		}
	}
	return c
}

// benchCounts counts answers by outcome.
type benchCounts struct {
	started    atomic.Int64 // StartRecovery accepted
	refused    atomic.Int64 // StartRecovery answered ConflictException or ServiceQuotaExceededException
	unexpected atomic.Int64 // any other error: a bug in the benchmark or the simulator
	firstError atomic.Value // string
}

func (c *benchCounts) fail(op benchOp, err error) {
	c.unexpected.Add(1)
	c.firstError.CompareAndSwap(nil, fmt.Sprintf("op %d: %v", op, err))
}

// benchClient sends calls and classifies the answers.
type benchClient interface {
	do(ctx context.Context, w *benchWorker, c benchCall, counts *benchCounts)
}

// sdkClient sends calls with real SDK clients: the simulator's (base false)
// or the baseline's.
type sdkClient struct{ base bool }

func (s sdkClient) do(ctx context.Context, w *benchWorker, c benchCall, counts *benchCounts) {
	r := c.region
	client := r.sim
	if s.base {
		client = r.base
	}
	var err error
	switch c.op {
	case benchPollJobs:
		_, err = client.DescribeJobs(ctx, &drs.DescribeJobsInput{Filters: &types.DescribeJobsRequestFilters{JobIDs: c.ids}})
	case benchServersByID:
		_, err = client.DescribeSourceServers(ctx, &drs.DescribeSourceServersInput{
			Filters: &types.DescribeSourceServersRequestFilters{SourceServerIDs: c.ids}})
	case benchServersPage:
		var out *drs.DescribeSourceServersOutput
		in := &drs.DescribeSourceServersInput{MaxResults: aws.Int32(50)}
		if tok := w.cursors[r]; tok != "" {
			in.NextToken = aws.String(tok)
		}
		out, err = client.DescribeSourceServers(ctx, in)
		w.cursors[r] = ""
		if err == nil {
			w.cursors[r] = aws.ToString(out.NextToken)
		}
	case benchInstances:
		_, err = client.DescribeRecoveryInstances(ctx, &drs.DescribeRecoveryInstancesInput{MaxResults: aws.Int32(50)})
	case benchStartRecovery:
		in := &drs.StartRecoveryInput{IsDrill: aws.Bool(true)}
		for _, id := range c.ids {
			in.SourceServers = append(in.SourceServers, types.StartRecoveryRequestSourceServer{SourceServerID: aws.String(id)})
		}
		var out *drs.StartRecoveryOutput
		out, err = client.StartRecovery(ctx, in)
		if err == nil {
			counts.started.Add(1)
			if !s.base && out.Job != nil {
				r.addJob(aws.ToString(out.Job.JobID))
			}
			return
		}
		var ce *types.ConflictException
		var qe *types.ServiceQuotaExceededException
		if errors.As(err, &ce) || errors.As(err, &qe) {
			counts.refused.Add(1) // a real DRS answer, served like any other
			return
		}
	}
	if err != nil {
		var ae smithy.APIError
		if !errors.As(err, &ae) {
			err = fmt.Errorf("no answer: %w", err)
		}
		counts.fail(c.op, err)
	}
}

// wireClient sends calls as plain HTTP requests shaped like the SDK's
// (REST-JSON body, SigV4 Authorization header with a dummy signature: the
// simulator reads the access key and region from the credential scope and,
// like the real service in front of it, does not need more). It reads each
// response to the end but decodes only what the mix needs: nextToken of a
// page and the job of an accepted StartRecovery.
type wireClient struct {
	hc  *http.Client
	url string
	sim bool // record created jobs
}

func (wc wireClient) do(ctx context.Context, w *benchWorker, c benchCall, counts *benchCounts) {
	r := c.region
	var op string
	var in any
	switch c.op {
	case benchPollJobs:
		op, in = "DescribeJobs", &DescribeJobsInput{Filters: &DescribeJobsRequestFilters{JobIDs: c.ids}}
	case benchServersByID:
		op, in = "DescribeSourceServers", &DescribeSourceServersInput{Filters: &DescribeSourceServersRequestFilters{SourceServerIDs: c.ids}}
	case benchServersPage:
		op, in = "DescribeSourceServers", &DescribeSourceServersInput{MaxResults: ptr(int64(50)), NextToken: w.cursors[r]}
	case benchInstances:
		op, in = "DescribeRecoveryInstances", &DescribeRecoveryInstancesInput{MaxResults: ptr(int64(50))}
	case benchStartRecovery:
		sr := &StartRecoveryInput{IsDrill: ptr(true)}
		for _, id := range c.ids {
			sr.SourceServers = append(sr.SourceServers, StartRecoveryRequestSourceServer{SourceServerID: id})
		}
		op, in = "StartRecovery", sr
	}
	body, err := json.Marshal(in)
	if err != nil {
		counts.fail(c.op, err)
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, wc.url+"/"+op, bytes.NewReader(body))
	if err != nil {
		counts.fail(c.op, err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amz-Date", "20261125T090000Z")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+r.key+"/20261125/"+r.name+
		"/drs/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000")
	resp, err := wc.hc.Do(req)
	if err != nil {
		counts.fail(c.op, fmt.Errorf("no answer: %w", err))
		return
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		counts.fail(c.op, fmt.Errorf("reading the answer: %w", err))
		return
	}
	switch {
	case c.op == benchStartRecovery && resp.StatusCode/100 == 2:
		counts.started.Add(1)
		var jo struct {
			Job struct {
				JobID string `json:"jobID"`
			} `json:"job"`
		}
		if wc.sim {
			if err := json.Unmarshal(out, &jo); err != nil || jo.Job.JobID == "" {
				counts.fail(c.op, fmt.Errorf("StartRecovery answer without a job: %v: %s", err, out))
				return
			}
			r.addJob(jo.Job.JobID)
		}
	case c.op == benchStartRecovery && (resp.StatusCode == http.StatusConflict || resp.StatusCode == http.StatusPaymentRequired):
		counts.refused.Add(1)
	case resp.StatusCode != http.StatusOK:
		counts.fail(c.op, fmt.Errorf("%s: HTTP %d: %s", op, resp.StatusCode, out))
	case c.op == benchServersPage:
		w.cursors[r] = ""
		// The token is the last member of a page: skim it from the end
		// rather than decoding 50 servers.
		const key = `"nextToken":"`
		if i := bytes.LastIndex(out, []byte(key)); i >= 0 {
			tok := out[i+len(key):]
			if j := bytes.IndexByte(tok, '"'); j >= 0 {
				w.cursors[r] = string(tok[:j])
			}
		}
	}
}

// benchNoDelay is a retry backoff that does not wait.
type benchNoDelay struct{}

func (benchNoDelay) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

// newBenchSDKClient returns a DRS client for region at endpoint, signing
// with accessKey. It keeps the SDK's standard retry policy without delays or
// a retry quota; the API errors the benchmark provokes (ConflictException,
// ServiceQuotaExceededException) are not retryable and throttling is off,
// so only connection errors would be retried. Requests are counted on the
// server side, so a retried call counts as the requests it was.
func newBenchSDKClient(hc *http.Client, endpoint, accessKey, region string) *drs.Client {
	return drs.NewFromConfig(aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(accessKey, "secret", ""),
		HTTPClient:  hc,
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.Backoff = benchNoDelay{}
				o.RateLimiter = ratelimit.None
			})
		},
	}, func(o *drs.Options) { o.BaseEndpoint = aws.String(endpoint) })
}

// benchBodyTransport sends each request body from memory. The SDK wraps
// request bodies in a reader whose WriteTo returns io.EOF once the SDK has
// closed it, which it does as soon as the response arrives; when net/http's
// writeLoop is descheduled until then (a loaded machine), its final read of
// the body fails with that io.EOF and it closes the connection under the
// response being read: "failed to decode response body, read tcp ...: use
// of closed network connection", against any server, a trivial handler
// included (smithy-go v1.28.9, safeWriteToReadCloser). A body in memory is
// also sent in one write with its headers, as it would be to AWS.
type benchBodyTransport struct{ rt http.RoundTripper }

func (t benchBodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return t.rt.RoundTrip(r)
	}
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	r = r.Clone(r.Context())
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return t.rt.RoundTrip(r)
}

// newScaleSim builds the scale scenario on a manual clock. Throttling is
// off (Throttle.Rate = -1): the benchmarks measure the simulator, not the
// token bucket, which would otherwise refuse much of the load.
func newScaleSim(tb testing.TB) (*Sim, *ManualClock) {
	sc, err := LoadScenario("scale")
	if err != nil {
		tb.Fatal(err)
	}
	sc.Throttle.Rate = -1
	clock := NewManualClock(benchStart)
	sim, err := New(Options{Scenario: sc, Clock: clock, Seed: 1})
	if err != nil {
		tb.Fatal(err)
	}
	return sim, clock
}

// BenchmarkScaleMixed serves an orchestrator's request mix over real HTTP
// to one real SDK client per account and region, from many goroutines:
// DescribeJobs of its recent jobs by ID (30%), DescribeSourceServers of
// 10-50 servers by ID (25%), DescribeSourceServers pages of 50 (23%),
// DescribeRecoveryInstances (20%) and StartRecovery drills of 2-5 servers
// (2%; once servers are held and the active-job quotas fill up, DRS refuses
// them with ConflictException or ServiceQuotaExceededException, which count
// as served requests). The manual clock moves 20 simulated seconds every
// hundred or so requests, so the jobs run their pipelines and recovery
// instances appear.
//
// Metrics: req/s (requests the simulator served per second of the timed
// run), heap-MB and sys-MB (HeapInuse and Sys after the run and a GC;
// MB = 2^20 bytes; the whole process, clients included), base-req/s (the
// same load from the same clients against a handler that answers {}),
// vs-base (req/s / base-req/s), jobs and refused (StartRecovery outcomes),
// cpu-us/req (CPU time of the whole process, clients included, per request
// served; Linux only) and cap-req/s (GOMAXPROCS CPU-seconds per second
// divided by cpu-us/req: the rate if the process had every core to itself)
// and base-cpu-us/req (the same for the baseline). On a busy machine the
// CPU figures are the ones to compare between runs.
func BenchmarkScaleMixed(b *testing.B) { benchScaleMixed(b, false) }

// BenchmarkScaleMixedWire is BenchmarkScaleMixed with wire-level clients
// (see wireClient) instead of the SDK: the simulator's own throughput.
func BenchmarkScaleMixedWire(b *testing.B) { benchScaleMixed(b, true) }

func benchScaleMixed(b *testing.B, wire bool) {
	renderCheck.Store(false) // TestMain's check would encode every listed item twice
	sim, clock := newScaleSim(b)
	srv := httptest.NewServer(sim)
	defer srv.Close()
	var baseServed atomic.Int64
	base := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		baseServed.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{}"))
	}))
	defer base.Close()

	// One kept-alive connection per client goroutine.
	conns := benchParallelism * runtime.GOMAXPROCS(0)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 4 * conns
	tr.MaxIdleConnsPerHost = 2 * conns
	defer tr.CloseIdleConnections()
	sdkHTTP := &http.Client{Transport: benchBodyTransport{tr}}
	var simClient, baseClient benchClient = sdkClient{}, sdkClient{base: true}
	if wire {
		wireHTTP := &http.Client{Transport: tr}
		simClient, baseClient = wireClient{hc: wireHTTP, url: srv.URL, sim: true}, wireClient{hc: wireHTTP, url: base.URL}
	}

	var regions []*benchRegion
	for _, key := range benchScaleKeys {
		account := sim.accountFor(key)
		for _, name := range benchScaleRegions {
			r := &benchRegion{key: key, name: name,
				sim:  newBenchSDKClient(sdkHTTP, srv.URL, key, name),
				base: newBenchSDKClient(sdkHTTP, base.URL, key, name),
			}
			for _, rv := range sim.State(StateFilter{Account: account, Region: name}).Regions {
				for _, s := range rv.Servers {
					r.servers = append(r.servers, s.SourceServerID)
				}
			}
			if len(r.servers) == 0 {
				b.Fatalf("scale scenario: no servers in account %s region %s", account, name)
			}
			regions = append(regions, r)
		}
	}

	ctx := context.Background()
	var counts benchCounts
	served0 := sim.requests.Load()
	cpu0, cpuOK := benchProcessCPU()
	b.SetParallelism(benchParallelism)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := newBenchWorker()
		for pb.Next() {
			simClient.do(ctx, w, w.next(regions), &counts)
			if w.rng.IntN(100) == 0 {
				clock.Advance(20 * time.Second)
			}
		}
	})
	b.StopTimer()
	elapsed := b.Elapsed()
	served := sim.requests.Load() - served0
	cpu1, _ := benchProcessCPU()

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)

	if n := counts.unexpected.Load(); n > 0 {
		b.Fatalf("%d unexpected errors; first: %v", n, counts.firstError.Load())
	}

	// The same load from the same clients over the same connection pool,
	// against {}.
	var baseCounts benchCounts
	baseCPU0, _ := benchProcessCPU()
	baseElapsed := benchBaseline(ctx, baseClient, regions, b.N, conns, &baseCounts)
	baseCPU1, _ := benchProcessCPU()
	if n := baseCounts.unexpected.Load(); n > 0 {
		b.Fatalf("baseline: %d unexpected errors; first: %v", n, baseCounts.firstError.Load())
	}

	rps := float64(served) / elapsed.Seconds()
	baseRPS := float64(baseServed.Load()) / baseElapsed.Seconds()
	b.ReportMetric(rps, "req/s")
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
	b.ReportMetric(float64(ms.Sys)/(1<<20), "sys-MB")
	b.ReportMetric(baseRPS, "base-req/s")
	b.ReportMetric(rps/baseRPS, "vs-base")
	b.ReportMetric(float64(counts.started.Load()), "jobs")
	b.ReportMetric(float64(counts.refused.Load()), "refused")
	if cpuOK && served > 0 && cpu1 > cpu0 {
		perReq := (cpu1 - cpu0) / time.Duration(served)
		b.ReportMetric(float64(perReq)/float64(time.Microsecond), "cpu-us/req")
		b.ReportMetric(float64(runtime.GOMAXPROCS(0))*float64(time.Second)/float64(perReq), "cap-req/s")
		if n := baseServed.Load(); n > 0 && baseCPU1 > baseCPU0 {
			b.ReportMetric(float64((baseCPU1-baseCPU0)/time.Duration(n))/float64(time.Microsecond), "base-cpu-us/req")
		}
	}
}

// benchProcessCPU returns the CPU time (user and system) this process has
// used, from /proc/self/stat (Linux; ok is false elsewhere). CPU time per
// request does not depend on what else the machine runs, unlike req/s.
func benchProcessCPU() (cpu time.Duration, ok bool) {
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, false
	}
	// Fields after "(comm)": state is field 3, utime 14 and stime 15, in
	// ticks of USER_HZ, which is 100 on Linux.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * (time.Second / 100), true
}

// benchBaseline sends n requests of the mix from workers goroutines through
// client and returns how long they took.
func benchBaseline(ctx context.Context, client benchClient, regions []*benchRegion, n, workers int, counts *benchCounts) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := newBenchWorker()
			for next.Add(1) <= int64(n) {
				client.do(ctx, w, w.next(regions), counts)
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// BenchmarkScaleBuild measures building the 3000-server scale simulator.
func BenchmarkScaleBuild(b *testing.B) {
	sc, err := LoadScenario("scale")
	if err != nil {
		b.Fatal(err)
	}
	sc.Throttle.Rate = -1
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(Options{Scenario: sc, Clock: NewManualClock(benchStart), Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListPages serves DescribeSourceServers and DescribeJobs pages of
// 50 through the whole handler (request decoding, the region's lock, the
// page, the response written to a ResponseWriter that keeps it in memory;
// no network), from GOMAXPROCS goroutines each paging through the list
// with nextToken, in a world of 3000 source servers and 1200 jobs of 2 to
// 8 servers each (listWorld). The goal is 5000 pages per second for each
// on two cores, the process under 100 MB.
//
// Each sub-benchmark runs the same pages twice in one run: with the render
// cache (rendercache.go), timed, and then as the simulator did before it,
// encoding every item's shape on every request (Sim.uncachedLists).
// Metrics: pages/s and before-pages/s, speedup (their ratio),
// cpu-us/page and before-cpu-us/page (CPU time of the process per page;
// Linux only; steadier than pages/s on a busy machine), cap-pages/s and
// before-cap-pages/s (GOMAXPROCS CPU-seconds per second divided by the CPU
// time per page: the rate if the process had every core), heap-MB and sys-MB
// (HeapInuse and Sys after the cached run and a GC, the world included)
// and peak-rss-MB (the process's peak resident memory, VmHWM, by the end of
// the cached run). B/op and allocs/op are the cached pages'.
func BenchmarkListPages(b *testing.B) {
	for _, op := range []string{"DescribeSourceServers", "DescribeJobs"} {
		b.Run(op, func(b *testing.B) { benchListPages(b, op) })
	}
}

// listWorld is BenchmarkListPages's world: one account and region.
type listWorld struct {
	sim      *Sim
	clock    *ManualClock
	key, reg string
}

const listWorldServers, listWorldJobs = 3000, 1200

var listWorldOnce struct {
	sync.Once
	w   *listWorld
	err error
}

// sharedListWorld builds the world once for every sub-benchmark.
func sharedListWorld(b *testing.B) *listWorld {
	listWorldOnce.Do(func() { listWorldOnce.w, listWorldOnce.err = newListWorld() })
	if listWorldOnce.err != nil {
		b.Fatal(listWorldOnce.err)
	}
	return listWorldOnce.w
}

// newListWorld builds 3000 servers (every tenth Windows) and runs 1200
// jobs through StartRecovery in rounds over all the servers: drills and
// recoveries of 2 to 8 servers with tags, most of them completed (drills
// replacing earlier drill instances), the last round still running; three
// servers' replication stalled and one stopped.
func newListWorld() (*listWorld, error) {
	sc := &Scenario{Name: "list-pages", DefaultAccount: "111122223333", Throttle: Throttle{Rate: -1},
		Quotas: Quotas{ServersPerJob: 100, ActiveJobs: 3000, ServersInActiveJobs: 10000},
		Generate: &GenerateSpec{Servers: listWorldServers, Accounts: []string{"111122223333"},
			Regions: []string{"us-east-1"}, WindowsEvery: 10}}
	clock := NewManualClock(benchStart)
	sim, err := New(Options{Scenario: sc, Clock: clock, Seed: 1})
	if err != nil {
		return nil, err
	}
	w := &listWorld{sim: sim, clock: clock, key: "AKIDSIM111122223333", reg: "us-east-1"}
	var ids []string
	for _, s := range sim.State(StateFilter{}).Regions[0].Servers {
		ids = append(ids, s.SourceServerID)
	}
	rw := &benchResponse{h: http.Header{}}
	if _, err := sim.AddFault(Fault{Kind: FaultStallReplication, Servers: ids[10:13]}); err != nil {
		return nil, err
	}
	if err := w.call(rw, "StopReplication", &StopReplicationInput{SourceServerID: ids[20]}); err != nil {
		return nil, err
	}
	n := 0
	for round := 0; n < listWorldJobs; round++ {
		for off := 0; n < listWorldJobs; n++ {
			k := 2 + n%7
			if off+k > len(ids) {
				break
			}
			in := &StartRecoveryInput{IsDrill: ptr(n%4 != 3), Tags: map[string]string{"Round": fmt.Sprint(round), "Wave": fmt.Sprint(n % 9)}}
			for _, id := range ids[off : off+k] {
				in.SourceServers = append(in.SourceServers, StartRecoveryRequestSourceServer{SourceServerID: id})
			}
			off += k
			if err := w.call(rw, "StartRecovery", in); err != nil {
				return nil, err
			}
		}
		if n < listWorldJobs {
			clock.Advance(2 * time.Hour)
		}
	}
	clock.Advance(5 * time.Minute) // the last round under way
	return w, nil
}

// benchResponse is a ResponseWriter that keeps the last response.
type benchResponse struct {
	h    http.Header
	code int
	body []byte
}

func (w *benchResponse) Header() http.Header { return w.h }
func (w *benchResponse) WriteHeader(c int)   { w.code = c }
func (w *benchResponse) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.body = append(w.body, p...)
	return len(p), nil
}

// call serves one DRS request as an SDK would send it (see wireClient) and
// fails unless it succeeds.
func (lw *listWorld) call(rw *benchResponse, op string, in any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1/"+op, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amz-Date", "20261125T090000Z")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+lw.key+"/20261125/"+lw.reg+
		"/drs/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000")
	rw.code, rw.body = 0, rw.body[:0]
	lw.sim.ServeHTTP(rw, req)
	if rw.code/100 != 2 {
		return fmt.Errorf("%s: HTTP %d: %s", op, rw.code, rw.body)
	}
	return nil
}

// page asks for the page of 50 after token and returns the next token
// ("" after the last page).
func (lw *listWorld) page(rw *benchResponse, op, token string) (string, error) {
	var in any = &DescribeSourceServersInput{MaxResults: ptr(int64(50)), NextToken: token}
	if op == "DescribeJobs" {
		in = &DescribeJobsInput{MaxResults: ptr(int64(50)), NextToken: token}
	}
	if err := lw.call(rw, op, in); err != nil {
		return "", err
	}
	// The token ends the page: look for it in its last bytes only.
	const key = `"nextToken":"`
	tail := rw.body[max(0, len(rw.body)-1024):]
	if i := bytes.LastIndex(tail, []byte(key)); i >= 0 {
		tok := tail[i+len(key):]
		if j := bytes.IndexByte(tok, '"'); j >= 0 {
			return string(tok[:j]), nil
		}
	}
	return "", nil
}

// pages serves n pages from GOMAXPROCS goroutines and returns how long
// they took and the process CPU time they used.
func (lw *listWorld) pages(op string, n int) (time.Duration, time.Duration, error) {
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	cpu0, _ := benchProcessCPU()
	start := time.Now()
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rw := &benchResponse{h: http.Header{}}
			tok := ""
			for next.Add(1) <= int64(n) {
				var err error
				if tok, err = lw.page(rw, op, tok); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu1, _ := benchProcessCPU()
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, 0, err
	}
	return elapsed, cpu1 - cpu0, nil
}

func benchListPages(b *testing.B, op string) {
	renderCheck.Store(false) // TestMain's check would encode every item twice
	lw := sharedListWorld(b)
	// Every page once, so that the timed run starts from a warm cache as
	// a running simulator would be.
	lw.sim.uncachedLists.Store(false)
	if _, _, err := lw.pages(op, listWorldServers/50+1); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	elapsed, cpu, err := lw.pages(op, b.N)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	// Memory as the cached pages leave it, before the pages as before
	// (whose garbage would be counted too).
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	peakKB, peakOK := benchPeakRSSKB()
	// The pages as before, fewer of them: they take up to 30 times as
	// long.
	nBefore := min(b.N, 1000)
	lw.sim.uncachedLists.Store(true)
	beforeElapsed, beforeCPU, err := lw.pages(op, nBefore)
	lw.sim.uncachedLists.Store(false)
	if err != nil {
		b.Fatal(err)
	}
	rate := float64(b.N) / elapsed.Seconds()
	before := float64(nBefore) / beforeElapsed.Seconds()
	b.ReportMetric(rate, "pages/s")
	b.ReportMetric(before, "before-pages/s")
	b.ReportMetric(rate/before, "speedup")
	if cpu > 0 && beforeCPU > 0 {
		perPage := float64(cpu) / float64(b.N)
		beforePerPage := float64(beforeCPU) / float64(nBefore)
		b.ReportMetric(perPage/float64(time.Microsecond), "cpu-us/page")
		b.ReportMetric(beforePerPage/float64(time.Microsecond), "before-cpu-us/page")
		// The rates if the process had every core to itself.
		procs := float64(runtime.GOMAXPROCS(0))
		b.ReportMetric(procs*float64(time.Second)/perPage, "cap-pages/s")
		b.ReportMetric(procs*float64(time.Second)/beforePerPage, "before-cap-pages/s")
	}
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
	b.ReportMetric(float64(ms.Sys)/(1<<20), "sys-MB")
	if peakOK {
		b.ReportMetric(float64(peakKB)/1024, "peak-rss-MB")
	}
}

// benchPeakRSSKB returns the process's peak resident set size in KiB
// (VmHWM in /proc/self/status; Linux only).
func benchPeakRSSKB() (int64, bool) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb, err == nil
		}
	}
	return 0, false
}

// BenchmarkHistoryJobs is the three-tier scenario with 20,000 history jobs
// of five servers (HistorySpec). Build: building the simulator, with
// history-MB (live heap with the history minus without it, after a GC) and
// cached-MB (the same after every job has been listed once, so every job's
// JSON is cached). FromDate: DescribeJobs of the last day's jobs
// (fromDate), about 220 of the 20,000, in pages of 50 (pages/s).
// JobIDs: DescribeJobs of 5 jobs by ID (requests/s).
func BenchmarkHistoryJobs(b *testing.B) {
	renderCheck.Store(false)
	const n = 20000
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	b.Run("Build", func(b *testing.B) {
		base := heap()
		without, _ := historySim(b, 0, 1, nil)
		withoutMB := float64(heap()-base) / (1 << 20)
		base = heap()
		with, _ := historySim(b, n, 1, nil)
		withMB := float64(heap()-base) / (1 << 20)
		lw := &listWorld{sim: with, key: threeTierKey, reg: "us-east-1"}
		rw := &benchResponse{h: http.Header{}}
		for tok, first := "", true; first || tok != ""; first = false {
			var err error
			if tok, err = lw.page(rw, "DescribeJobs", tok); err != nil {
				b.Fatal(err)
			}
		}
		cachedMB := float64(heap()-base) / (1 << 20)
		runtime.KeepAlive(without)
		runtime.KeepAlive(with)
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			historySim(b, n, 1, nil)
		}
		b.ReportMetric(withMB-withoutMB, "history-MB")
		b.ReportMetric(cachedMB-withoutMB, "cached-MB")
	})
	b.Run("FromDate", func(b *testing.B) {
		sim, _ := historySim(b, n, 1, nil)
		lw := &listWorld{sim: sim, key: threeTierKey, reg: "us-east-1"}
		rw := &benchResponse{h: http.Header{}}
		in := &DescribeJobsInput{MaxResults: ptr(int64(50)),
			Filters: &DescribeJobsRequestFilters{FromDate: formatTime(testStart.Add(-24 * time.Hour))}}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if err := lw.call(rw, "DescribeJobs", in); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pages/s")
	})
	b.Run("JobIDs", func(b *testing.B) {
		sim, _ := historySim(b, n, 1, nil)
		var ids []string
		for _, j := range sim.State(StateFilter{}).Regions[0].Jobs[n-5:] {
			ids = append(ids, j.JobID)
		}
		lw := &listWorld{sim: sim, key: threeTierKey, reg: "us-east-1"}
		rw := &benchResponse{h: http.Header{}}
		in := &DescribeJobsInput{Filters: &DescribeJobsRequestFilters{JobIDs: ids}}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if err := lw.call(rw, "DescribeJobs", in); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	})
}
