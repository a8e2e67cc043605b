package drs

import "testing"

func TestLimiterSlowsAndRecovers(t *testing.T) {
	l := newLimiter(100, 10)
	steps := []struct {
		name      string
		do        func()
		times     int
		wantRate  float64
		wantBurst int
	}{
		{"configured", func() {}, 0, 100, 10},
		{"success at full rate changes nothing", l.succeeded, 3, 100, 10},
		{"one throttle halves, no burst", l.throttled, 1, 50, 1},
		{"two more", l.throttled, 2, 12.5, 1},
		{"a success adds a twentieth", l.succeeded, 1, 17.5, 1},
		{"down to the floor and no further", l.throttled, 20, 100.0 / 32, 1},
		{"enough successes restore rate and burst", l.succeeded, 20, 100, 10},
	}
	for _, s := range steps {
		for range s.times {
			s.do()
		}
		if got := l.rate(); got != s.wantRate {
			t.Errorf("%s: rate %v, want %v", s.name, got, s.wantRate)
		}
		if got := l.lim.Burst(); got != s.wantBurst {
			t.Errorf("%s: burst %d, want %d", s.name, got, s.wantBurst)
		}
	}
}

func TestDefaultBurst(t *testing.T) {
	for _, tt := range []struct {
		rps  float64
		want int
	}{{5, 5}, {0.5, 1}, {2.5, 3}, {1000, 1000}} {
		if got := defaultBurst(tt.rps); got != tt.want {
			t.Errorf("defaultBurst(%v) = %d, want %d", tt.rps, got, tt.want)
		}
	}
}
