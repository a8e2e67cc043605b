package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/web"
)

// patience bounds every wait on a signal: a test that waits longer has
// failed (nothing here sleeps; each wait ends when what it waits for
// happens).
const patience = 20 * time.Second

// streamWatch records the event streams the server serves: the
// Last-Event-ID each asked with, and each one's end.
type streamWatch struct {
	started chan string
	ended   chan struct{}
}

func watchStreams(e *env) *streamWatch {
	sw := &streamWatch{started: make(chan string, 100), ended: make(chan struct{}, 100)}
	h := e.handler
	e.setFront(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
			h.ServeHTTP(w, r)
			return
		}
		sw.started <- r.Header.Get("Last-Event-ID")
		defer func() { sw.ended <- struct{}{} }()
		h.ServeHTTP(w, r)
	}))
	return sw
}

func wait[T any](t *testing.T, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(patience):
		t.Fatalf("no %s after %s", what, patience)
		panic("unreachable")
	}
}

// execWithEvents records an execution with n events (ExecutionStarted and
// outages) and returns its ID.
func (e *env) execWithEvents(n int) string {
	e.t.Helper()
	hash := e.savePlans(orders).Versions[0].Hash
	x := e.createExecution("orders-20261125T090000-aaaaaa", hash, ripcord.ModeDrill, e.clock.Now(), false)
	e.appendOutages(x, 1, n-1)
	return x
}

// appendOutages appends n filler events after seq last.
func (e *env) appendOutages(x string, last int64, n int) int64 {
	e.t.Helper()
	for n > 0 {
		batch := min(n, 700)
		evs := make([]ripcord.Event, batch)
		for i := range evs {
			evs[i] = outage(e.clock.Now(), int(last)+i+1)
		}
		last = e.append(x, last, evs...)
		n -= batch
	}
	return last
}

// TestFollowResumes follows an execution's stream through the client
// while events are appended with the store's Append, drops the connection
// twice (between events, and with events appended while it is down), and
// checks that every event arrives once, in order, and that the client
// resumed with Last-Event-ID.
func TestFollowResumes(t *testing.T) {
	e := newEnv(t)
	sw := watchStreams(e)
	x := e.execWithEvents(3)
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	got := make(chan ripcord.Event, 10000)
	done := make(chan error, 1)
	go func() {
		done <- e.as(ripcord.RoleViewer).Follow(ctx, x, 0, func(ev ripcord.Event) error { got <- ev; return nil })
	}()
	var seqs []int64
	take := func(upTo int64) {
		t.Helper()
		for len(seqs) == 0 || seqs[len(seqs)-1] < upTo {
			ev := wait(t, got, fmt.Sprintf("event %d", len(seqs)+1))
			if ev.ExecutionID != x || ev.Type == "" {
				t.Fatalf("event %+v", ev)
			}
			seqs = append(seqs, ev.Seq)
		}
	}
	if id := wait(t, sw.started, "stream"); id != "" {
		t.Fatalf("the first stream asked with Last-Event-ID %q", id)
	}
	take(3)
	last := e.appendOutages(x, 3, 2)
	take(last)

	// Drop the connection between events; append while it is down.
	e.srv.CloseClientConnections()
	wait(t, sw.ended, "the dropped stream's end")
	last = e.appendOutages(x, last, 3)
	if id := wait(t, sw.started, "the resumed stream"); id != "5" {
		t.Fatalf("resumed with Last-Event-ID %q, want 5", id)
	}
	take(last)

	// Again, with more than one page of events appended at once.
	e.srv.CloseClientConnections()
	wait(t, sw.ended, "the dropped stream's end")
	last = e.appendOutages(x, last, 2500)
	if id := wait(t, sw.started, "the resumed stream"); id != "8" {
		t.Fatalf("resumed with Last-Event-ID %q, want 8", id)
	}
	take(last)

	// The client goes away: Follow returns, the stream ends.
	cancel()
	if err := wait(t, done, "Follow's return"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Follow returned %v", err)
	}
	wait(t, sw.ended, "the stream's end after the client went away")

	for i, s := range seqs {
		if s != int64(i+1) {
			t.Fatalf("event %d has seq %d: lost or repeated (%v...)", i+1, s, seqs[:i+1])
		}
	}
	if len(seqs) != int(last) {
		t.Fatalf("%d events, want %d", len(seqs), last)
	}
}

// sseEvent is one event of a raw stream.
type sseEvent struct {
	id, event, data string
}

// readSSE parses a stream into events (and comments as event ":").
func readSSE(t *testing.T, resp *http.Response, out chan<- sseEvent) {
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	var cur sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur != (sseEvent{}) {
				out <- cur
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, ":"):
			out <- sseEvent{event: ":"}
		default:
			k, v, _ := strings.Cut(line, ": ")
			switch k {
			case "id":
				cur.id = v
			case "event":
				cur.event = v
			case "data":
				cur.data = v
			case "retry":
				cur.event = "retry"
			}
		}
	}
	close(out)
}

func (e *env) openStream(ctx context.Context, x, query string, header map[string]string) (*http.Response, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/executions/"+x+"/events"+query, nil)
	req.Header.Set("Authorization", "Bearer "+e.secrets[ripcord.RoleViewer])
	req.Header.Set("Accept", "text/event-stream")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return http.DefaultClient.Do(req)
}

// TestStreamFormat reads the stream by hand: each event's id is its seq and
// its data the event's JSON; Last-Event-ID wins over after=.
func TestStreamFormat(t *testing.T) {
	e := newEnv(t)
	x := e.execWithEvents(6)
	for _, tc := range []struct {
		query, lastID string
		first         int64
	}{{"", "", 1}, {"?after=2", "", 3}, {"?after=2", "4", 5}, {"", "6", 7}} {
		ctx, cancel := context.WithCancel(e.ctx)
		resp, err := e.openStream(ctx, x, tc.query, map[string]string{"Last-Event-ID": tc.lastID})
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" {
			t.Fatalf("status %d, %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		evs := make(chan sseEvent, 100)
		go readSSE(t, resp, evs)
		if first := wait(t, evs, "retry"); first.event != "retry" {
			t.Fatalf("the stream starts with %+v, want retry:", first)
		}
		if tc.first == 7 { // nothing yet: the next one recorded comes
			e.appendOutages(x, 6, 1)
		}
		for seq := tc.first; seq <= max(6, tc.first); seq++ {
			sv := wait(t, evs, "event "+strconv.FormatInt(seq, 10))
			var ev ripcord.Event
			if err := json.Unmarshal([]byte(sv.data), &ev); err != nil {
				t.Fatal(err)
			}
			if sv.id != strconv.FormatInt(seq, 10) || ev.Seq != seq || ev.ExecutionID != x || sv.event != "" {
				t.Fatalf("%+v: got %+v, want seq %d", tc, sv, seq)
			}
		}
		cancel()
		resp.Body.Close()
	}

	// Errors before the stream starts are JSON.
	for _, tc := range []struct {
		x, lastID, code string
	}{{"orders-nope", "", ripcord.ENOTFOUND}, {x, "five", ripcord.EINVALID}, {x, "-1", ripcord.EINVALID}} {
		resp, err := e.openStream(e.ctx, tc.x, "", map[string]string{"Last-Event-ID": tc.lastID})
		if err != nil {
			t.Fatal(err)
		}
		var eb client.ErrorBody
		json.NewDecoder(resp.Body).Decode(&eb)
		resp.Body.Close()
		if eb.Error.Code != tc.code || resp.StatusCode != web.Status(tc.code) {
			t.Errorf("%+v: status %d, %+v", tc, resp.StatusCode, eb)
		}
	}
}

// TestStreamOutlivesTimeouts: with the server's read and write timeouts
// far shorter than the stream, it goes on (the read deadline is lifted,
// each write gets its own), sending keepalives while idle.
func TestStreamOutlivesTimeouts(t *testing.T) {
	e := newEnv(t, func(c *web.Config) {
		c.KeepAlive = 10 * time.Millisecond
		c.StreamWriteTimeout = 100 * time.Millisecond
	})
	srv := httptest.NewUnstartedServer(e.handler)
	srv.Config.ReadTimeout, srv.Config.WriteTimeout = 100*time.Millisecond, 100*time.Millisecond
	srv.Start()
	defer srv.Close()
	e.srv = srv
	x := e.execWithEvents(1)
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	start := time.Now()
	resp, err := e.openStream(ctx, x, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	evs := make(chan sseEvent, 1000)
	go readSSE(t, resp, evs)
	keepalives := 0
	for keepalives < 5 || time.Since(start) < 300*time.Millisecond {
		sv, ok := <-evs
		if !ok {
			t.Fatalf("the stream ended after %s and %d keepalives", time.Since(start), keepalives)
		}
		if sv.event == ":" {
			keepalives++
		}
	}
	e.appendOutages(x, 1, 1)
	for {
		sv, ok := <-evs
		if !ok {
			t.Fatalf("the stream ended after %s", time.Since(start))
		}
		if sv.id == "2" {
			break
		}
	}
}

// TestCloseEndsStreams: Handler.Close ends the streams in progress, so that
// a server can shut down.
func TestCloseEndsStreams(t *testing.T) {
	e := newEnv(t)
	sw := watchStreams(e)
	x := e.execWithEvents(1)
	resp, err := e.openStream(e.ctx, x, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	evs := make(chan sseEvent, 100)
	go readSSE(t, resp, evs)
	wait(t, sw.started, "stream")
	wait(t, evs, "retry")
	wait(t, evs, "event 1")
	e.handler.Close()
	wait(t, sw.ended, "the stream's end")
	for range evs { // the body ends
	}
}
