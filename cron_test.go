package ripcord_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
)

func mustCron(t *testing.T, expr, tz string) *ripcord.Cron {
	t.Helper()
	c, err := ripcord.ParseCron(expr, tz)
	if err != nil {
		t.Fatalf("ParseCron(%q, %q): %v", expr, tz, err)
	}
	return c
}

func TestCronNext(t *testing.T) {
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		expr, tz, after string
		want            []string // the next times, in order
	}{
		{"0 3 * * 1", "", "2026-12-07T14:00:00Z", []string{"2026-12-14T03:00:00Z", "2026-12-21T03:00:00Z"}},    // Mondays 03:00
		{"*/15 * * * *", "", "2026-12-07T14:07:30Z", []string{"2026-12-07T14:15:00Z", "2026-12-07T14:30:00Z"}}, // from mid-minute
		{"0 3 * * 1", "", "2026-12-14T03:00:00Z", []string{"2026-12-21T03:00:00Z"}},                            // strictly after
		{"30 2 1 * *", "Europe/Paris", "2026-12-07T00:00:00Z", []string{"2027-01-01T01:30:00Z", "2027-02-01T01:30:00Z"}},
		{"0 0 1 1 *", "", "2026-06-01T00:00:00Z", []string{"2027-01-01T00:00:00Z"}},
		{"@weekly", "", "2026-12-07T00:00:00Z", []string{"2026-12-13T00:00:00Z"}}, // Sundays
		{"0 9 * * mon-fri", "", "2026-12-11T10:00:00Z", []string{"2026-12-14T09:00:00Z"}},
		{"0 9 * * 7", "", "2026-12-07T10:00:00Z", []string{"2026-12-13T09:00:00Z"}},                          // 7 is Sunday
		{"0 0 13 * 5", "", "2026-11-01T00:00:00Z", []string{"2026-11-06T00:00:00Z", "2026-11-13T00:00:00Z"}}, // Fridays or the 13th
		{"0 0 29 2 *", "", "2026-03-01T00:00:00Z", []string{"2028-02-29T00:00:00Z"}},                         // a leap day
		{"5-10/5 1 * JAN,dec *", "", "2026-12-31T01:06:00Z", []string{"2026-12-31T01:10:00Z", "2027-01-01T01:05:00Z"}},
		// New York's clocks go forward at 02:00 on 8 March 2026: 02:30
		// does not exist that day and is skipped.
		{"30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", []string{"2026-03-09T06:30:00Z"}},
		// ... and back at 02:00 on 1 November: 01:30 happens twice and is
		// due once.
		{"30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", []string{"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}},
	} {
		c := mustCron(t, tc.expr, tc.tz)
		at := utc(tc.after)
		for _, w := range tc.want {
			at = c.Next(at)
			if !at.Equal(utc(w)) {
				t.Errorf("%s in %q: next %v; want %s", tc.expr, tc.tz, at, w)
				break
			}
		}
	}
}

func TestCronLatest(t *testing.T) {
	c := mustCron(t, "0 * * * *", "") // hourly
	since := time.Date(2026, 12, 7, 1, 30, 0, 0, time.UTC)
	now := time.Date(2026, 12, 7, 5, 10, 0, 0, time.UTC)
	if got := c.Latest(since, now); !got.Equal(time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)) {
		t.Errorf("hourly, down from 01:30 to 05:10: Latest %v; want 05:00 (one run for the four missed slots)", got)
	}
	if got := c.Latest(now.Add(-5*time.Minute), now); !got.IsZero() {
		t.Errorf("no slot since 05:05: Latest %v; want none", got)
	}
	if got := c.Latest(since, since); !got.IsZero() {
		t.Errorf("an empty interval: %v", got)
	}
	if got := c.Latest(since, time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)); !got.Equal(time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)) {
		t.Errorf("a slot exactly at now: %v; want it due", got)
	}
	yearly := mustCron(t, "@yearly", "")
	if got := yearly.Latest(time.Date(2020, 6, 1, 0, 0, 0, 0, time.UTC), now); !got.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("yearly, down for years: %v; want 1 January 2026", got)
	}
	minutely := mustCron(t, "* * * * *", "")
	if got := minutely.Latest(now.AddDate(-1, 0, 0), now); !got.Equal(now) {
		t.Errorf("every minute, down a year: %v; want %v", got, now)
	}
}

func TestCronErrors(t *testing.T) {
	for _, tc := range []struct{ expr, tz, want string }{
		{"0 3 * *", "", "has 4 fields"},
		{"0 3 * * * *", "", "has 6 fields"},
		{"60 3 * * *", "", `minute field "60"`},
		{"0 24 * * *", "", "hour field"},
		{"0 0 0 * *", "", "day of the month field"},
		{"0 0 * 13 *", "", "month field"},
		{"0 0 * * 8", "", "day of the week field"},
		{"0 0 * * FOO", "", "day of the week field"},
		{"5-1 * * * *", "", "runs backwards"},
		{"*/0 * * * *", "", "step"},
		{"0 0 30 2 *", "", "never fires"},
		{"@reboot", "", "unknown schedule macro"},
		{"0 3 * * *", "Mars/Olympus", "unknown time zone"},
		{"0 3 * * *", "Local", "unknown time zone"},
	} {
		_, err := ripcord.ParseCron(tc.expr, tc.tz)
		var re *ripcord.Error
		if !errors.As(err, &re) || re.Code != ripcord.EINVALID || !strings.Contains(re.Message, tc.want) || re.Hint == "" {
			t.Errorf("ParseCron(%q, %q) = %v; want EINVALID with %q and a hint", tc.expr, tc.tz, err, tc.want)
		}
	}
}
