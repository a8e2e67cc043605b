package twin

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// parseISODuration reads an ISO-8601 duration as DRS writes them (P0D,
// PT4M12.5S, P2DT3H); weeks are accepted, years and months are not (they
// have no fixed length).
func parseISODuration(s string) (time.Duration, error) {
	bad := func() (time.Duration, error) {
		return 0, fmt.Errorf("%q is not an ISO-8601 duration like PT4M12.5S", s)
	}
	rest, ok := strings.CutPrefix(s, "P")
	if !ok || rest == "" {
		return bad()
	}
	var d time.Duration
	inTime := false
	for rest != "" {
		if rest[0] == 'T' {
			if inTime || len(rest) == 1 {
				return bad()
			}
			inTime, rest = true, rest[1:]
			continue
		}
		i := strings.IndexAny(rest, "WDHMS")
		if i <= 0 {
			return bad()
		}
		n, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil || n < 0 {
			return bad()
		}
		var unit time.Duration
		switch u := rest[i]; {
		case !inTime && u == 'W':
			unit = 7 * 24 * time.Hour
		case !inTime && u == 'D':
			unit = 24 * time.Hour
		case inTime && u == 'H':
			unit = time.Hour
		case inTime && u == 'M':
			unit = time.Minute
		case inTime && u == 'S':
			unit = time.Second
		default:
			return bad()
		}
		d += time.Duration(n * float64(unit))
		rest = rest[i+1:]
	}
	return d.Round(time.Microsecond), nil
}
