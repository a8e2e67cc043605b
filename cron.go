package ripcord

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Cron is a parsed cron schedule read in a time zone: the times a plan's
// scheduled drill is due (Settings.Schedule and TimeZone).
//
// The expression has five fields, minute (0-59), hour (0-23), day of the
// month (1-31), month (1-12 or JAN-DEC) and day of the week (0-7 or
// SUN-SAT, 0 and 7 both Sunday). Each field is `*`, a value, a range
// `a-b`, any of these with a step (`*/15`, `1-5/2`, `10/20`), or a
// comma-separated list of them. When both day fields are restricted a day
// matches either, as in every cron; when one is `*` only the other
// counts. The macros @yearly (@annually), @monthly, @weekly, @daily
// (@midnight) and @hourly stand for their usual expressions.
//
// Times are wall-clock times in the zone: a time that does not exist on a
// day the clocks go forward is skipped that day, and a time that happens
// twice when they go back is due once, the first time.
type Cron struct {
	expr                       string
	loc                        *time.Location
	minute, hour, dom, month   uint64 // bit i set: value i matches
	dow                        uint64 // bits 0-6, Sunday 0
	domRestricted, dowRestrict bool
}

// cronSearchLimit bounds the search for the next time: an expression that
// matches nothing within it (such as 30 February) never fires.
const cronSearchLimit = 5 * 366 * 24 * time.Hour

var cronMacros = map[string]string{
	"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
	"@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}

var (
	monthNames = []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}
	dayNames   = []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}
)

// ParseCron parses expr read in the IANA time zone tz (empty: UTC). Its
// errors are EINVALID and say which field is wrong and how to write it.
func ParseCron(expr, tz string) (*Cron, error) {
	loc := time.UTC
	if tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil || strings.EqualFold(tz, "local") {
			return nil, &Error{Code: EINVALID, Message: fmt.Sprintf("unknown time zone %q", tz),
				Hint: `write an IANA time zone name such as "Europe/Paris" or "America/New_York" (or leave it out for UTC)`}
		}
		loc = l
	}
	c := &Cron{expr: expr, loc: loc}
	src := strings.TrimSpace(expr)
	if strings.HasPrefix(src, "@") {
		m, ok := cronMacros[strings.ToLower(src)]
		if !ok {
			return nil, &Error{Code: EINVALID, Message: fmt.Sprintf("unknown schedule macro %q", src),
				Hint: "use five fields (minute hour day-of-month month day-of-week) or one of @hourly, @daily, @weekly, @monthly, @yearly"}
		}
		src = m
	}
	fields := strings.Fields(src)
	if len(fields) != 5 {
		return nil, &Error{Code: EINVALID, Message: fmt.Sprintf("schedule %q has %d fields; a schedule has 5", expr, len(fields)),
			Hint: `write minute hour day-of-month month day-of-week, such as "0 3 * * 1" for Mondays at 03:00 (seconds and years are not supported)`}
	}
	var err error
	if c.minute, _, err = cronField(fields[0], "minute", 0, 59, nil); err != nil {
		return nil, err
	}
	if c.hour, _, err = cronField(fields[1], "hour", 0, 23, nil); err != nil {
		return nil, err
	}
	if c.dom, c.domRestricted, err = cronField(fields[2], "day of the month", 1, 31, nil); err != nil {
		return nil, err
	}
	if c.month, _, err = cronField(fields[3], "month", 1, 12, monthNames); err != nil {
		return nil, err
	}
	if c.dow, c.dowRestrict, err = cronField(fields[4], "day of the week", 0, 7, dayNames); err != nil {
		return nil, err
	}
	if c.dow&(1<<7) != 0 { // 7 is Sunday too
		c.dow = c.dow&^(1<<7) | 1
	}
	if c.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, loc)).IsZero() {
		return nil, &Error{Code: EINVALID, Message: fmt.Sprintf("schedule %q never fires", expr),
			Hint: "its day of the month never occurs in its months (such as 30 in February); change either field"}
	}
	return c, nil
}

// cronField parses one field into a bit set; restricted is false for `*`
// (with or without a step of 1). names, if given, are the words for min,
// min+1, ... (months from 1, days from 0).
func cronField(s, what string, lo, hi int, names []string) (bits uint64, restricted bool, err error) {
	bad := func(msg string) (uint64, bool, error) {
		return 0, false, &Error{Code: EINVALID, Message: fmt.Sprintf("the %s field %q: %s", what, s, msg),
			Hint: fmt.Sprintf("write *, a value from %d to %d, a range a-b, a step such as */5, or a list of these separated by commas", lo, hi)}
	}
	value := func(v string) (int, bool) {
		for i, n := range names {
			if strings.EqualFold(v, n) {
				if lo == 1 {
					return i + 1, true
				}
				return i, true
			}
		}
		n, err := strconv.Atoi(v)
		return n, err == nil && n >= lo && n <= hi
	}
	restricted = true
	for _, part := range strings.Split(s, ",") {
		rng, stepS, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepS)
			if err != nil || n < 1 || n > hi {
				return bad(fmt.Sprintf("the step %q is not a number from 1 to %d", stepS, hi))
			}
			step = n
		}
		first, last := lo, hi
		switch {
		case rng == "*":
			if step == 1 && len(s) <= 3 { // "*" or "*/1"
				restricted = false
			}
		case strings.Contains(rng, "-"):
			a, b, _ := strings.Cut(rng, "-")
			var okA, okB bool
			first, okA = value(a)
			last, okB = value(b)
			if !okA || !okB {
				return bad(fmt.Sprintf("the range %q is not within %d-%d", rng, lo, hi))
			}
			if first > last {
				return bad(fmt.Sprintf("the range %q runs backwards", rng))
			}
		default:
			v, ok := value(rng)
			if !ok {
				return bad(fmt.Sprintf("%q is not a value from %d to %d", rng, lo, hi))
			}
			first = v
			if !hasStep {
				last = v
			}
		}
		for v := first; v <= last; v += step {
			bits |= 1 << uint(v)
		}
	}
	return bits, restricted, nil
}

// String is the expression as written, with its time zone.
func (c *Cron) String() string { return c.expr + " (" + c.loc.String() + ")" }

// Location is the time zone the schedule is read in.
func (c *Cron) Location() *time.Location { return c.loc }

// dayMatches applies cron's rule for the two day fields.
func (c *Cron) dayMatches(t time.Time) bool {
	dom := c.dom&(1<<uint(t.Day())) != 0
	dow := c.dow&(1<<uint(t.Weekday())) != 0
	switch {
	case c.domRestricted && c.dowRestrict:
		return dom || dow
	case c.domRestricted:
		return dom
	case c.dowRestrict:
		return dow
	}
	return true
}

// Next is the first due time strictly after t, in UTC; zero if none within
// five years.
func (c *Cron) Next(t time.Time) time.Time {
	t = t.In(c.loc)
	end := t.Add(cronSearchLimit)
	// Walk the wall clock's fields, never absolute durations: each wall
	// time is looked at once, so a repeated hour is not due twice.
	y, mo, d := t.Date()
	cur := time.Date(y, mo, d, t.Hour(), t.Minute()+1, 0, 0, c.loc)
	for !cur.After(end) {
		y, mo, d := cur.Date()
		h, mi := cur.Hour(), cur.Minute()
		prev := cur
		switch {
		case c.month&(1<<uint(mo)) == 0:
			cur = time.Date(y, mo+1, 1, 0, 0, 0, 0, c.loc)
		case !c.dayMatches(cur):
			cur = time.Date(y, mo, d+1, 0, 0, 0, 0, c.loc)
		case c.hour&(1<<uint(h)) == 0:
			cur = time.Date(y, mo, d, h+1, 0, 0, 0, c.loc)
		case c.minute&(1<<uint(mi)) == 0 || !cur.After(t):
			cur = time.Date(y, mo, d, h, mi+1, 0, 0, c.loc)
		default:
			return cur.UTC()
		}
		// A wall time in the gap when the clocks go forward comes back
		// an hour early (time.Date reads it in the old offset): step
		// over the gap.
		for !cur.After(prev) {
			cur = cur.Add(time.Hour)
		}
	}
	return time.Time{}
}

// Latest is the last due time at or before now and strictly after since,
// in UTC; zero if there is none. It is the slot a scheduler that was down
// since `since` owes: one run, however many slots it missed.
func (c *Cron) Latest(since, now time.Time) time.Time {
	if !now.After(since) {
		return time.Time{}
	}
	// Look back over a growing window, so that a schedule due every
	// minute does not walk a year of slots.
	for w := time.Hour; ; w *= 2 {
		from := now.Add(-w)
		if !from.After(since) {
			from = since
		}
		var last time.Time
		for n := c.Next(from); !n.IsZero() && !n.After(now); n = c.Next(n) {
			last = n
		}
		if !last.IsZero() || from.Equal(since) || w > cronSearchLimit {
			return last
		}
	}
}
