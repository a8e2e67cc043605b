package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// acceptsEventStream reports whether the request asks for server-sent
// events.
func acceptsEventStream(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for _, part := range strings.Split(v, ",") {
			if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/event-stream" {
				return true
			}
		}
	}
	return false
}

// stream sends an execution's events as server-sent events: each event's
// SSE id is its seq and its data the event's JSON, as the JSON list has it.
// It starts after Last-Event-ID (a reconnecting client's last event), else
// after ?after=, else at the first event; it sends what the log holds, then
// reads the store for more when the store's notes say the log grew (on
// any replica) and every PollInterval, so that no event is lost or
// repeated, and ends when the client goes away or the Handler is closed.
// An idle stream sends a comment every KeepAlive.
func (h *Handler) stream(w http.ResponseWriter, r *http.Request, id string) error {
	ctx := r.Context()
	after, err := intParam(r, "after", 0, 0, 1<<62)
	if err != nil {
		return err
	}
	if s := r.Header.Get("Last-Event-ID"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 0 {
			return fail(ripcord.EINVALID, fmt.Sprintf("Last-Event-ID %q is not an event's seq", s), "send the id of the last event received, or no Last-Event-ID")
		}
		after = v
	}
	if _, err := h.cfg.Store.Execution(ctx, id); err != nil {
		return notFound(err, id)
	}

	rc := http.NewResponseController(w)
	// A stream outlasts the server's timeouts: the read deadline is lifted
	// (net/http does so itself for HTTP/1 once the request is read) and
	// each write gets its own deadline.
	_ = rc.SetReadDeadline(time.Time{})
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream; charset=utf-8")
	hd.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	var buf bytes.Buffer
	send := func() bool {
		_ = rc.SetWriteDeadline(time.Now().Add(h.cfg.StreamWriteTimeout))
		_, err := w.Write(buf.Bytes())
		buf.Reset()
		return err == nil && rc.Flush() == nil
	}
	fmt.Fprintf(&buf, "retry: %d\n\n", max(h.cfg.PollInterval, time.Second).Milliseconds())
	if !send() {
		return nil
	}

	woken, unwatch := h.watch(id)
	defer unwatch()
	poll := time.NewTicker(h.cfg.PollInterval)
	defer poll.Stop()
	keep := time.NewTicker(h.cfg.KeepAlive)
	defer keep.Stop()
	for {
		evs, err := h.cfg.Store.Events(ctx, id, after, maxPage)
		if err != nil {
			if ctx.Err() == nil {
				h.log.ErrorContext(ctx, "event stream: reading the store", "request_id", requestID(r), "execution", id, "error", err)
				// The client connects again from its last event.
				fmt.Fprintf(&buf, "event: error\ndata: {\"code\":%q}\n\n", ripcord.EINTERNAL)
				send()
			}
			return nil
		}
		for _, ev := range evs {
			b, err := json.Marshal(ev) // one line: encoding/json escapes newlines in strings
			if err != nil {
				h.log.ErrorContext(ctx, "event stream: encoding an event", "request_id", requestID(r), "execution", id, "seq", ev.Seq, "error", err)
				return nil
			}
			fmt.Fprintf(&buf, "id: %d\ndata: %s\n\n", ev.Seq, b)
			after = ev.Seq
		}
		if len(evs) > 0 {
			if !send() {
				return nil
			}
			keep.Reset(h.cfg.KeepAlive)
		}
		if len(evs) == maxPage {
			continue // more are recorded already
		}
		select {
		case <-ctx.Done():
			return nil
		case <-h.closed:
			return nil
		case <-woken:
		case <-poll.C:
		case <-keep.C:
			buf.WriteString(": keepalive\n\n")
			if !send() {
				return nil
			}
		}
	}
}
