package drssim

import (
	"encoding/base64"
	"hash/fnv"
	"strconv"
	"strings"
)

// Pagination tokens are opaque to clients: base64 of the operation, a
// keyset cursor (the last item returned, so items created between pages
// neither repeat nor vanish) and a digest of the filters, sealed with a
// checksum. Garbage, tampered tokens and tokens from another operation or
// other filters are refused with ValidationException (docs/drs.md §7).

const defaultPageSize = 50

func tokenSum(s string) string {
	h := fnv.New64a()
	h.Write([]byte("drssim-token/" + s))
	return strconv.FormatUint(h.Sum64(), 36)
}

// makeToken seals a cursor for op; the token is valid only in this account
// and region, with the same filters.
func (r *region) makeToken(op, cursor, filters string) string {
	filters = r.account + "/" + r.name + "/" + filters
	body := op + "\x00" + cursor + "\x00" + tokenSum(filters)
	return base64.RawURLEncoding.EncodeToString([]byte(body + "\x00" + tokenSum(body)))
}

// readToken returns the cursor of a token ("" for no token).
func (r *region) readToken(op string, tok *string, filters string) (string, *apiError) {
	filters = r.account + "/" + r.name + "/" + filters
	if tok == nil || *tok == "" {
		return "", nil
	}
	bad := errValidation(reasonCannotParse, "Invalid nextToken: pass the nextToken of the previous response of the same "+op+" call, unchanged, with the same filters")
	if len(*tok) > 2048 {
		return "", bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(*tok)
	if err != nil {
		return "", bad
	}
	parts := strings.Split(string(raw), "\x00")
	if len(parts) != 4 {
		return "", bad
	}
	body := parts[0] + "\x00" + parts[1] + "\x00" + parts[2]
	if parts[3] != tokenSum(body) || parts[0] != op || parts[2] != tokenSum(filters) {
		return "", bad
	}
	return parts[1], nil
}

// pageSize validates maxResults.
func pageSize(max *int64, limit int) (int, *apiError) {
	if max == nil {
		return defaultPageSize, nil
	}
	if *max < 1 {
		return 0, errField("maxResults", "must be at least 1")
	}
	if limit > 0 && *max > int64(limit) {
		return 0, errField("maxResults", "must be at most "+strconv.Itoa(limit))
	}
	if *max > 1000 {
		return 1000, nil
	}
	return int(*max), nil
}
