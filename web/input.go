package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
)

// Reading what a request says, strictly: bounded bodies, known query
// parameters, validated names and IDs, JSON without unknown fields.

var (
	// planNameRe is a plan's name, as plan files allow it.
	planNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
	// hashRe is a plan version's hash: hex SHA-256.
	hashRe = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

func planName(r *http.Request) (string, error) {
	name := r.PathValue("name")
	if !planNameRe.MatchString(name) {
		return "", fail(ripcord.EINVALID, fmt.Sprintf("%q is not a plan name", name),
			"a plan name is 1 to 63 letters, digits, '.', '_' and '-', starting with a letter or digit")
	}
	return name, nil
}

func executionID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !ripcord.ValidExecutionID(id) {
		return "", fail(ripcord.EINVALID, fmt.Sprintf("%q is not an execution ID", id),
			"an execution ID is 1 to 128 letters, digits, '.', '_' and '-', starting with a letter or digit; GET /api/v1/executions lists them")
	}
	return id, nil
}

func planHash(name, value string) (string, error) {
	if !hashRe.MatchString(value) {
		return "", fail(ripcord.EINVALID, fmt.Sprintf("%s %q is not a plan version's hash", name, value),
			"a version's hash is 64 lowercase hex digits; GET /api/v1/plans/{name}/versions lists them")
	}
	return value, nil
}

// checkQuery refuses query parameters the route does not take, and any
// given twice.
func checkQuery(r *http.Request, allowed []string) error {
	q, err := urlQuery(r)
	if err != nil {
		return err
	}
	for k, vs := range q {
		if !slices.Contains(allowed, k) {
			hint := "this endpoint takes no query parameters"
			if len(allowed) > 0 {
				hint = "this endpoint takes: " + strings.Join(allowed, ", ")
			}
			return fail(ripcord.EINVALID, fmt.Sprintf("unknown query parameter %q", k), hint)
		}
		if len(vs) > 1 {
			return fail(ripcord.EINVALID, fmt.Sprintf("query parameter %q is given %d times", k, len(vs)), "give it once")
		}
	}
	return nil
}

func urlQuery(r *http.Request) (map[string][]string, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, fail(ripcord.EINVALID, "the query string is malformed: "+err.Error(), "escape the values of query parameters")
	}
	return q, nil
}

// intParam reads a decimal integer parameter in [lo, hi]; def when absent.
func intParam(r *http.Request, name string, def, lo, hi int64) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < lo || v > hi {
		return 0, fail(ripcord.EINVALID, fmt.Sprintf("%s=%q is not a whole number from %d to %d", name, s, lo, hi), "")
	}
	return v, nil
}

// timeParam reads an RFC 3339 time parameter; zero when absent.
func timeParam(r *http.Request, name string) (time.Time, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fail(ripcord.EINVALID, fmt.Sprintf("%s=%q is not an RFC 3339 time", name, s), "e.g. 2026-11-25T09:00:00Z")
	}
	return t, nil
}

// readBody reads a request's body, at most cfg.MaxBody bytes (413 past
// it), after checking its media type.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request, types ...string) ([]byte, error) {
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || !slices.Contains(types, mt) {
		return nil, fail(ripcord.EINVALID, fmt.Sprintf("the body's Content-Type is %q", ct), "send Content-Type: "+types[0])
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return nil, fail(ripcord.EINVALID, fmt.Sprintf("the body's charset is %q", cs), "send the body in UTF-8")
	}
	if r.ContentLength > h.cfg.MaxBody {
		return nil, tooLarge(h.cfg.MaxBody)
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(h.cfg.MaxBody)
		}
		return nil, fail(ripcord.EINVALID, "reading the body: "+err.Error(), "send the whole body")
	}
	if !utf8.Valid(b) {
		return nil, fail(ripcord.EINVALID, "the body is not valid UTF-8", "send the body in UTF-8")
	}
	return b, nil
}

func tooLarge(limit int64) error {
	return fail(client.ETOOLARGE, fmt.Sprintf("the body is over %d bytes", limit), "send a smaller body; split a large plan file into several")
}

// decodeJSON reads a JSON body into v strictly: Content-Type
// application/json, at most cfg.MaxBody bytes, one value, no unknown
// fields. The control endpoints take their bodies so.
func (h *Handler) decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	b, err := h.readBody(w, r, "application/json")
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fail(ripcord.EINVALID, "the body is not the JSON this endpoint takes: "+err.Error(), "docs/api.md shows the body of each endpoint")
	}
	if _, err := dec.Token(); err != io.EOF {
		return fail(ripcord.EINVALID, "the body has more than one JSON value", "send one JSON object")
	}
	return nil
}

// writeJSON answers v as JSON. It is encoded before anything is written, so
// that a value that cannot be encoded is a clean 500. encoding/json escapes
// <, > and & in strings: what a client sent never comes back as markup.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(true)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		_ = json.NewEncoder(&buf).Encode(client.ErrorBody{Error: client.ErrorDetail{Code: ripcord.EINTERNAL, Message: "internal error: encoding the answer"}})
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
