package drs

import (
	"slices"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{in: "", want: time.Time{}},
		{in: "2026-11-25T09:00:00Z", want: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)},
		{in: "2024-09-16T04:42:46.324841+00:00", want: time.Date(2024, 9, 16, 4, 42, 46, 324841000, time.UTC)},
		{in: "2024-09-16T04:42:46.324841Z", want: time.Date(2024, 9, 16, 4, 42, 46, 324841000, time.UTC)},
		{in: "2024-09-16T06:42:46+02:00", want: time.Date(2024, 9, 16, 4, 42, 46, 0, time.UTC)},
		{in: "2024-09-16 04:42:46.5+00:00", want: time.Date(2024, 9, 16, 4, 42, 46, 500000000, time.UTC)},
		{in: "2024-09-16T04:42:46.324841", want: time.Date(2024, 9, 16, 4, 42, 46, 324841000, time.UTC)},
		{in: "2024-09-16", wantErr: true},
		{in: "16/09/2024 04:42", wantErr: true},
		{in: "2024-09-16T25:00:00Z", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTime(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseTime(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if !got.Equal(tt.want) || (!got.IsZero() && got.Location() != time.UTC) {
				t.Errorf("ParseTime(%q) = %v, want %v in UTC", tt.in, got, tt.want)
			}
		})
	}
}

func TestFormatTimeRoundTrip(t *testing.T) {
	in := time.Date(2026, 11, 25, 10, 30, 15, 999, time.FixedZone("CET", 3600))
	s := formatTime(in)
	if s != "2026-11-25T09:30:15Z" {
		t.Fatalf("formatTime = %q", s)
	}
	got, err := ParseTime(s)
	if err != nil || !got.Equal(in.Truncate(time.Second)) {
		t.Errorf("ParseTime(formatTime(t)) = %v, %v", got, err)
	}
}

func TestParseDuration(t *testing.T) {
	const day = 24 * time.Hour
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{in: "", want: 0},
		{in: "P0D", want: 0},
		{in: "PT0S", want: 0},
		{in: "PT1H2M3.5S", want: time.Hour + 2*time.Minute + 3500*time.Millisecond},
		{in: "P1DT2H", want: day + 2*time.Hour},
		{in: "PT16H20M38.697305S", want: 16*time.Hour + 20*time.Minute + 38697305*time.Microsecond},
		{in: "PT0.000000001S", want: time.Nanosecond},
		{in: "PT0.0000000019S", want: time.Nanosecond}, // digits past the nanosecond are dropped
		{in: "PT1,5S", want: 1500 * time.Millisecond},
		{in: "PT1.5M", want: 90 * time.Second},
		{in: "PT90M", want: 90 * time.Minute},
		{in: "P2W", want: 14 * day},
		{in: "P1M", want: 30 * day},
		{in: "P1Y2M3DT4H5M6S", want: 365*day + 60*day + 3*day + 4*time.Hour + 5*time.Minute + 6*time.Second},
		{in: "P3D", want: 3 * day},
		{in: "P", wantErr: true},
		{in: "PT", wantErr: true},
		{in: "P1DT", wantErr: true},
		{in: "1H", wantErr: true},
		{in: "PT1H2H", wantErr: true},
		{in: "PT2M1H", wantErr: true},
		{in: "P1H", wantErr: true},
		{in: "PT1D", wantErr: true},
		{in: "PT1.2.3S", wantErr: true},
		{in: "PT.S", wantErr: true},
		{in: "PT5", wantErr: true},
		{in: "PTS", wantErr: true},
		{in: "-PT1S", wantErr: true},
		{in: "P1DTT1H", wantErr: true},
		{in: "PT99999999999999999999S", wantErr: true},
		{in: "P106752D", wantErr: true}, // over 292 years does not fit
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseDuration(%q) = %v, %v; want error %v", tt.in, got, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseDuration(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestBatches(t *testing.T) {
	ids := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = string(rune('a'+i%26)) + string(rune('a'+i/26))
		}
		return out
	}
	tests := []struct {
		name  string
		in    []string
		n     int
		sizes []int
	}{
		{"nil", nil, 200, nil},
		{"one", []string{"a"}, 200, []int{1}},
		{"exact", ids(400), 200, []int{200, 200}},
		{"rest", ids(450), 200, []int{200, 200, 50}},
		{"duplicates dropped", append(ids(3), ids(3)...), 2, []int{2, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := batches(tt.in, tt.n)
			var sizes []int
			var all []string
			for _, b := range got {
				sizes = append(sizes, len(b))
				all = append(all, b...)
			}
			if !slices.Equal(sizes, tt.sizes) {
				t.Errorf("batch sizes %v, want %v", sizes, tt.sizes)
			}
			want := slices.Compact(slices.Sorted(slices.Values(tt.in)))
			if !slices.Equal(slices.Sorted(slices.Values(all)), want) {
				t.Errorf("batches hold %v, want each of %v once", all, want)
			}
		})
	}
}
