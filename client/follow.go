package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// maxSSELine bounds a line of the event stream: one event's JSON.
const maxSSELine = 16 << 20

// Follow calls fn with each event of execution id after seq after, in
// order, as the server's event stream (server-sent events) delivers them,
// until ctx is done (it returns ctx's error) or fn returns an error (it
// returns that error). Events that are already recorded come first.
//
// When the connection drops, or the server is briefly unavailable (502,
// 503, 504, 429), Follow connects again with Last-Event-ID set to the
// last event it delivered, after a wait (see [WithReconnect]): no event is
// lost or repeated. It also checks that seqs follow each other: an event
// it already delivered is dropped, and a gap makes it reconnect from the
// last event it delivered. Any other error answer (an unknown execution,
// a revoked token) ends it with that error, as does a first connection
// that fails.
func (c *Client) Follow(ctx context.Context, id string, after int64, fn func(ripcord.Event) error) error {
	last := after
	wait := c.reconnectMin
	connected := false
	for {
		delivered, retryAfter, err := c.followOnce(ctx, id, &last, fn, &connected)
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		var r retryable
		if err != nil && !asRetryable(err, &r) {
			return err
		}
		if delivered {
			wait = c.reconnectMin
		}
		d := max(wait, min(retryAfter, c.reconnectMax))
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(wait*2, c.reconnectMax)
	}
}

// retryable marks an error after which Follow connects again.
type retryable struct{ err error }

func (r retryable) Error() string { return r.err.Error() }

func asRetryable(err error, r *retryable) bool {
	x, ok := err.(retryable)
	if ok {
		*r = x
	}
	return ok
}

// followOnce makes one connection and delivers its events; it returns
// whether it delivered any, the server's Retry-After, and why it ended:
// a retryable error to connect again, any other to stop.
func (c *Client) followOnce(ctx context.Context, id string, last *int64, fn func(ripcord.Event) error, connected *bool) (delivered bool, retryAfter time.Duration, err error) {
	h := http.Header{"Accept": {"text/event-stream"}, "Cache-Control": {"no-cache"}}
	if *last > 0 {
		h.Set("Last-Event-ID", strconv.FormatInt(*last, 10))
	}
	resp, err := c.send(ctx, request{method: http.MethodGet, path: "api/v1/executions/" + seg(id) + "/events", header: h})
	if err != nil {
		if *connected && IsCode(err, ripcord.EUNAVAILABLE) {
			return false, 0, retryable{err}
		}
		return false, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		err := c.errorOf(ctx, resp)
		switch resp.StatusCode {
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s > 0 {
				retryAfter = time.Duration(s) * time.Second
			}
			if *connected {
				return false, retryAfter, retryable{err}
			}
		}
		return false, 0, err
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		return false, 0, &ripcord.Error{Code: ripcord.EINTERNAL,
			Message: fmt.Sprintf("GET %s: the answer is %q, not an event stream", resp.Request.URL.Path, resp.Header.Get("Content-Type")),
			Hint:    "check that " + c.BaseURL() + " is a ripcord server of a compatible version"}
	}
	*connected = true

	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), maxSSELine)
	var data bytes.Buffer
	var kind string
	dispatch := func() error {
		defer func() { data.Reset(); kind = "" }()
		if data.Len() == 0 {
			return nil
		}
		if kind != "" && kind != "message" {
			// "error": the server could not read the store; connect again.
			return retryable{&ripcord.Error{Code: ripcord.EUNAVAILABLE, Message: "the event stream reported an error: " + data.String()}}
		}
		var ev ripcord.Event
		if err := json.Unmarshal(data.Bytes(), &ev); err != nil {
			return &ripcord.Error{Code: ripcord.EINTERNAL, Message: fmt.Sprintf("execution %s: an event of the stream is not an event: %v", id, err)}
		}
		switch {
		case ev.Seq <= *last:
			return nil // delivered already
		case ev.Seq != *last+1:
			return retryable{&ripcord.Error{Code: ripcord.EUNAVAILABLE,
				Message: fmt.Sprintf("execution %s: the stream went from event %d to %d", id, *last, ev.Seq)}}
		}
		if err := fn(ev); err != nil {
			return err
		}
		*last = ev.Seq
		delivered = true
		return nil
	}
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			if err := dispatch(); err != nil {
				return delivered, 0, err
			}
			continue
		}
		if line[0] == ':' {
			continue // a comment: the server's keepalive
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "data":
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.Write(value)
		case "event":
			kind = string(value)
		}
		// id: is the event's seq, which the data carries too; retry: is
		// left to WithReconnect.
	}
	err = sc.Err()
	if err == nil {
		err = fmt.Errorf("the server closed the stream")
	}
	return delivered, 0, retryable{&ripcord.Error{Code: ripcord.EUNAVAILABLE,
		Message: fmt.Sprintf("execution %s: the event stream ended: %v", id, err)}}
}
