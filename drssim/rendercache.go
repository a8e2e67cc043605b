package drssim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// The render cache: DescribeSourceServers and DescribeJobs answer pages of
// up to 1000 items, and encoding each item's nested shape with
// encoding/json (reflection, and a MarshalJSON at every level of a job) on
// every request was nearly all of their cost. So every server and job keeps
// its JSON, encoded once by json.Marshal of its shape (the bytes are
// exactly what encoding the shape writes), and a page is the cached items
// joined. Whatever changes a member of a server's or a job's shape calls
// its changed method, which drops the cached JSON; it is encoded again when
// next listed.
//
// A job's JSON depends only on the job. A server's also depends on the
// time it is listed at (serverTimes: lagDuration while stalled,
// etaDateTime, lastSeenByServiceDateTime while its agent heartbeats,
// elapsedReplicationDuration), so a server's cache is a template: its JSON
// with those values cut out, and where each goes. Listing fills them in.
//
// The tests check every item every list operation writes against a fresh
// encoding of its shape (renderCheck, set by the package's TestMain), so
// the whole test suite, every drill, termination, fault and tag change in
// it, checks that nothing changes a server or a job without dropping its
// cache.

// holeKind is a member of a server's JSON that moves with the clock.
type holeKind uint8

const (
	holeLag holeKind = iota
	holeEta
	holeLastSeen
	holeElapsed
	numHoles
)

// holeMarks stand in for the clock-dependent members when a server's
// template is encoded. They hold NUL, which encoding/json writes as
// \u0000, so every \u0000 in a template is either a mark or a NUL in the
// server's own data (which makes the server fall back to being encoded
// whole each time it is listed).
var holeMarks = [numHoles]string{"\x00lag\x00", "\x00eta\x00", "\x00lastSeen\x00", "\x00elapsed\x00"}

// holeMarksJSON are the marks as they appear inside a JSON string.
var holeMarksJSON = func() (out [numHoles][]byte) {
	for i, m := range holeMarks {
		b, err := json.Marshal(m)
		if err != nil {
			panic(err)
		}
		out[i] = b[1 : len(b)-1]
	}
	return out
}()

var escapedNUL = []byte(`\u0000`)

// serverEnc is a server's cached JSON template.
type serverEnc struct {
	ok       bool // raw and holes are the server's current JSON
	fallback bool // the server's data holds a NUL: encode it whole each time
	n        uint8
	holes    [numHoles]encHole // where the clock-dependent values go in raw, in order
	raw      []byte            // the JSON with those values cut out
}

type encHole struct {
	at   int
	kind holeKind
}

// changed drops the server's cached JSON: call it whenever a member of its
// shape (serverShape) changes.
func (s *server) changed() { s.enc.ok = false }

// changed drops the job's cached JSON: call it whenever a member of its
// shape (renderJob) changes.
func (j *job) changed() { j.enc = nil }

// encodeServer encodes s's template.
func (r *region) encodeServer(s *server) {
	e := &s.enc
	e.ok, e.fallback, e.n, e.raw = true, false, 0, nil
	t := serverTimes{lag: holeMarks[holeLag], eta: holeMarks[holeEta], lastSeen: holeMarks[holeLastSeen], elapsed: holeMarks[holeElapsed]}
	want := [numHoles]bool{holeLag: lagShown(s.state), holeEta: etaShown(s.state), holeLastSeen: true, holeElapsed: !s.firstByteAt.IsZero()}
	if s.stalledSince.IsZero() { // the lag is the server's own
		t.lag, want[holeLag] = isoDuration(s.lag), false
	}
	if !s.lastSeenAt.IsZero() { // the agent is no longer heard from
		t.lastSeen, want[holeLastSeen] = formatTime(s.lastSeenAt), false
	}
	b, err := json.Marshal(r.serverShape(s, t))
	if err != nil {
		panic(fmt.Sprintf("drssim: encoding source server %s: %v", s.id, err))
	}
	// Cut the marks out, in place.
	var found [numHoles]bool
	w, i := 0, 0
	for {
		k := bytes.Index(b[i:], escapedNUL)
		if k < 0 {
			w += copy(b[w:], b[i:])
			break
		}
		k += i
		w += copy(b[w:], b[i:k])
		kind := numHoles
		for h, m := range holeMarksJSON {
			if want[h] && !found[h] && bytes.HasPrefix(b[k:], m) {
				kind = holeKind(h)
				break
			}
		}
		if kind == numHoles { // a NUL of the server's own
			e.fallback = true
			return
		}
		found[kind] = true
		e.holes[e.n] = encHole{at: w, kind: kind}
		e.n++
		i = k + len(holeMarksJSON[kind])
	}
	if found != want {
		e.fallback = true // cannot happen: every wanted member is written
		return
	}
	e.raw = b[:w]
}

// serverLen is about how long s's JSON is (encoding its template if
// needed), to size a page.
func (r *region) serverLen(s *server) int {
	if !s.enc.ok {
		r.encodeServer(s)
	}
	if s.enc.fallback {
		return 4096
	}
	return len(s.enc.raw) + 32*int(s.enc.n)
}

// appendServer appends s's JSON as listed at now; nowText is
// formatTime(now).
func (r *region) appendServer(b []byte, s *server, now time.Time, nowText []byte) []byte {
	if !s.enc.ok {
		r.encodeServer(s)
	}
	start := len(b)
	e := &s.enc
	if e.fallback {
		j, err := json.Marshal(r.renderServer(s, now))
		if err != nil {
			panic(fmt.Sprintf("drssim: encoding source server %s: %v", s.id, err))
		}
		b = append(b, j...)
	} else {
		prev := 0
		for _, h := range e.holes[:e.n] {
			b = append(b, e.raw[prev:h.at]...)
			switch h.kind {
			case holeLag:
				b = appendISODuration(b, s.lagAt(now))
			case holeEta:
				b = appendTime(b, s.etaAt(now))
			case holeLastSeen:
				b = append(b, nowText...)
			case holeElapsed:
				b = appendISODuration(b, now.Sub(s.firstByteAt))
			}
			prev = h.at
		}
		b = append(b, e.raw[prev:]...)
	}
	if renderCheck.Load() {
		checkRendered("source server "+s.id, b[start:], r.renderServer(s, now))
	}
	return b
}

// jobJSON returns j's JSON, encoding it if needed.
func (r *region) jobJSON(j *job) []byte {
	if j.enc == nil {
		b, err := json.Marshal(r.renderJob(j))
		if err != nil {
			panic(fmt.Sprintf("drssim: encoding job %s: %v", j.id, err))
		}
		j.enc = b
	}
	return j.enc
}

// appendJob appends j's JSON.
func (r *region) appendJob(b []byte, j *job) []byte {
	start, cached := len(b), j.enc != nil
	b = append(b, r.jobJSON(j)...)
	// Only JSON from the cache can be stale: JSON just encoded is its
	// shape's encoding.
	if cached && renderCheck.Load() {
		checkRendered("job "+j.id, b[start:], r.renderJob(j))
	}
	return b
}

// encodedPage is the body of a list operation, already encoded; writeJSON
// writes it as it is, then releases it. Page buffers are reused: a page
// of 50 servers is about 100 KB, and allocating one per request made the
// garbage collector the largest cost of serving it.
type encodedPage struct{ buf *[]byte }

// MarshalJSON returns the page.
func (p encodedPage) MarshalJSON() ([]byte, error) { return *p.buf, nil }

// release returns the page's buffer for another page. The page must not be
// used after.
func (p encodedPage) release() {
	if cap(*p.buf) <= maxPooledPage {
		*p.buf = (*p.buf)[:0]
		pageBufs.Put(p.buf)
	}
}

// maxPooledPage bounds the buffers kept for reuse (a page of 1000 servers
// is about 2 MB).
const maxPooledPage = 4 << 20

var pageBufs = sync.Pool{New: func() any { return new([]byte) }}

// newPage returns an empty page buffer of at least n bytes.
func newPage(n int) *[]byte {
	buf := pageBufs.Get().(*[]byte)
	if cap(*buf) < n {
		*buf = make([]byte, 0, n)
	}
	return buf
}

// serverPage encodes a DescribeSourceServers answer: the servers, then
// nextToken if there is one, as listOutput[SourceServer] is encoded.
func (r *region) serverPage(servers []*server, nextToken string, now time.Time) encodedPage {
	n := 32 + len(nextToken)
	for _, s := range servers {
		n += r.serverLen(s) + 1
	}
	var nowBuf [len(timeFormat)]byte
	nowText := appendTime(nowBuf[:0], now)
	buf := newPage(n)
	b := append(*buf, `{"items":[`...)
	for i, s := range servers {
		if i > 0 {
			b = append(b, ',')
		}
		b = r.appendServer(b, s, now, nowText)
	}
	*buf = endPage(b, nextToken)
	return encodedPage{buf}
}

// jobPage encodes a DescribeJobs answer as listOutput[Job] is encoded.
func (r *region) jobPage(jobs []*job, nextToken string) encodedPage {
	n := 32 + len(nextToken)
	for _, j := range jobs {
		n += len(r.jobJSON(j)) + 1
	}
	buf := newPage(n)
	b := append(*buf, `{"items":[`...)
	for i, j := range jobs {
		if i > 0 {
			b = append(b, ',')
		}
		b = r.appendJob(b, j)
	}
	*buf = endPage(b, nextToken)
	return encodedPage{buf}
}

// endPage closes the items and adds nextToken, as listOutput is encoded.
func endPage(b []byte, nextToken string) []byte {
	b = append(b, ']')
	if nextToken != "" {
		tok, err := json.Marshal(nextToken)
		if err != nil {
			panic(err)
		}
		b = append(append(b, `,"nextToken":`...), tok...)
	}
	return append(b, '}')
}

// renderCheck makes every listed item be compared with a fresh encoding of
// its shape; a difference is recorded in renderMismatches. The package's
// tests switch it on for the whole run (TestMain), benchmarks off.
var renderCheck atomic.Bool

var renderMismatches struct {
	mu    sync.Mutex
	n     int
	first string
}

func checkRendered(what string, got []byte, shape any) {
	want, err := json.Marshal(shape)
	if err == nil && bytes.Equal(got, want) {
		return
	}
	renderMismatches.mu.Lock()
	defer renderMismatches.mu.Unlock()
	renderMismatches.n++
	if renderMismatches.first == "" {
		renderMismatches.first = fmt.Sprintf("%s: listed\n%s\nbut its shape encodes as\n%s (%v)", what, got, want, err)
	}
}

// renderCheckResult reports how many listed items differed from a fresh
// encoding, and the first.
func renderCheckResult() (int, string) {
	renderMismatches.mu.Lock()
	defer renderMismatches.mu.Unlock()
	return renderMismatches.n, renderMismatches.first
}
