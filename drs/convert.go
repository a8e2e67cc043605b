package drs

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsdrs "github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"

	"github.com/ripcord-dr/ripcord"
)

// ParseTime parses a DRS date-time. The model documents the form
// 2026-11-25T09:00:00Z, the real service sends Python's
// 2024-09-16T04:42:46.324841+00:00; both are read, with any fraction of a
// second, and so are a space instead of the T and a missing offset (taken
// as UTC). The empty string is the zero time.
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	v := s
	if len(v) > 10 && v[10] == ' ' {
		v = v[:10] + "T" + v[11:]
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02T15:04:05.999999999", v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO 8601 date-time such as 2024-09-16T04:42:46.324841+00:00", s)
}

// formatTime writes t the way the DRS model documents its date-times.
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// ParseDuration parses an ISO 8601 duration as DRS writes them: P0D when
// caught up, PT16H20M38.697305S, P1DT2H. Weeks (W) are read; years and
// months, which DRS does not use for lag, count as 365 and 30 days. A
// fraction is allowed on any field, with a point or a comma. The empty
// string is zero.
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	bad := func(why string) (time.Duration, error) {
		return 0, fmt.Errorf("%q is not an ISO 8601 duration such as PT1H2M3.5S (%s)", s, why)
	}
	rest, ok := strings.CutPrefix(s, "P")
	if !ok {
		return bad("it must start with P")
	}
	if rest == "" || rest == "T" {
		return bad("it has no fields")
	}
	const day = 24 * time.Hour
	units := map[byte]time.Duration{'Y': 365 * day, 'M': 30 * day, 'W': 7 * day, 'D': day}
	timeUnits := map[byte]time.Duration{'H': time.Hour, 'M': time.Minute, 'S': time.Second}
	var total time.Duration
	inTime := false
	last := -1 // index of the last unit used, to enforce their order
	order := "YMWDHMS"
	for rest != "" {
		if rest[0] == 'T' {
			if inTime {
				return bad("T appears twice")
			}
			inTime = true
			rest = rest[1:]
			if rest == "" {
				return bad("nothing after T")
			}
			continue
		}
		n := 0
		for n < len(rest) && (rest[n] >= '0' && rest[n] <= '9' || rest[n] == '.' || rest[n] == ',') {
			n++
		}
		if n == 0 || n == len(rest) {
			return bad("a number must be followed by a unit")
		}
		num, u := strings.Replace(rest[:n], ",", ".", 1), rest[n]
		rest = rest[n+1:]
		table, offset := units, 0
		if inTime {
			table, offset = timeUnits, 4
		}
		unit, ok := table[u]
		if !ok {
			return bad(fmt.Sprintf("unit %c is not allowed here", u))
		}
		pos := strings.IndexByte(order[offset:], u) + offset
		if pos <= last {
			return bad("fields are out of order or repeated")
		}
		last = pos
		d, err := scaleDecimal(num, unit)
		if err != nil {
			return bad(err.Error())
		}
		if total > math.MaxInt64-d {
			return bad("too long")
		}
		total += d
	}
	return total, nil
}

// scaleDecimal returns the decimal number num times unit, exactly for up to
// nanosecond precision.
func scaleDecimal(num string, unit time.Duration) (time.Duration, error) {
	ip, fp, _ := strings.Cut(num, ".")
	if ip == "" && fp == "" || strings.ContainsAny(fp, ".,") {
		return 0, fmt.Errorf("%q is not a number", num)
	}
	var d time.Duration
	if ip != "" {
		n, err := strconv.ParseInt(ip, 10, 64)
		if err != nil || n > int64(math.MaxInt64/unit) {
			return 0, fmt.Errorf("%s is too large", num)
		}
		d = time.Duration(n) * unit
	}
	if fp != "" {
		// unit / 10^k for each digit k of the fraction: exact for the
		// digits that fit in a nanosecond, the rest dropped.
		scale := unit
		for _, c := range fp {
			scale /= 10
			if scale == 0 {
				break
			}
			d += time.Duration(c-'0') * scale
		}
	}
	return d, nil
}

// The conversions from the SDK's shapes. A date or duration DRS sends that
// cannot be read is an error, not a zero: a readiness check must not pass
// on data it could not read.

func convertSourceServer(s types.SourceServer) (ripcord.SourceServer, error) {
	out := ripcord.SourceServer{
		ID:                 aws.ToString(s.SourceServerID),
		Tags:               s.Tags,
		RecoveryInstanceID: aws.ToString(s.RecoveryInstanceId),
		LastLaunchResult:   string(s.LastLaunchResult),
	}
	if p := s.SourceProperties; p != nil && p.IdentificationHints != nil {
		out.Hostname = aws.ToString(p.IdentificationHints.Hostname)
	}
	if p := s.SourceProperties; p != nil {
		if p.Os != nil {
			out.OS = aws.ToString(p.Os.FullString)
		}
		for _, d := range p.Disks {
			out.DiskBytes += d.Bytes
		}
		for _, n := range p.NetworkInterfaces {
			out.IPs = append(out.IPs, n.Ips...)
		}
		out.RecommendedInstanceType = aws.ToString(p.RecommendedInstanceType)
		for _, c := range p.Cpus {
			out.CPUs += int(c.Cores)
		}
		out.RAMBytes = p.RamBytes
	}
	if ri := s.DataReplicationInfo; ri != nil {
		out.ReplicationState = string(ri.DataReplicationState)
		if ri.DataReplicationError != nil {
			out.ReplicationError = string(ri.DataReplicationError.Error)
		}
		lag, err := ParseDuration(aws.ToString(ri.LagDuration))
		if err != nil {
			return out, fmt.Errorf("source server %s: lagDuration: %w", out.ID, err)
		}
		out.Lag = lag
	}
	return out, nil
}

func convertJob(j types.Job) (ripcord.Job, error) {
	out := ripcord.Job{
		ID:          aws.ToString(j.JobID),
		Type:        string(j.Type),
		InitiatedBy: string(j.InitiatedBy),
		Status:      string(j.Status),
		Tags:        j.Tags,
	}
	var err error
	if out.Created, err = ParseTime(aws.ToString(j.CreationDateTime)); err != nil {
		return out, fmt.Errorf("job %s: creationDateTime: %w", out.ID, err)
	}
	if out.Ended, err = ParseTime(aws.ToString(j.EndDateTime)); err != nil {
		return out, fmt.Errorf("job %s: endDateTime: %w", out.ID, err)
	}
	out.Servers = make([]ripcord.JobServer, 0, len(j.ParticipatingServers))
	for _, ps := range j.ParticipatingServers {
		out.Servers = append(out.Servers, ripcord.JobServer{
			SourceServerID:     aws.ToString(ps.SourceServerID),
			RecoveryInstanceID: aws.ToString(ps.RecoveryInstanceID),
			LaunchStatus:       string(ps.LaunchStatus),
		})
	}
	return out, nil
}

func convertJobLog(l types.JobLog) (ripcord.JobLogItem, error) {
	out := ripcord.JobLogItem{Event: string(l.Event)}
	if d := l.EventData; d != nil {
		out.SourceServerID = aws.ToString(d.SourceServerID)
		out.TargetInstanceID = aws.ToString(d.TargetInstanceID)
		out.ConversionServerID = aws.ToString(d.ConversionServerID)
		out.RawError = aws.ToString(d.RawError)
	}
	var err error
	if out.At, err = ParseTime(aws.ToString(l.LogDateTime)); err != nil {
		return out, fmt.Errorf("job log item %s: logDateTime: %w", out.Event, err)
	}
	return out, nil
}

func convertRecoveryInstance(r types.RecoveryInstance) (ripcord.RecoveryInstance, error) {
	out := ripcord.RecoveryInstance{
		ID:             aws.ToString(r.RecoveryInstanceID),
		SourceServerID: aws.ToString(r.SourceServerID),
		JobID:          aws.ToString(r.JobID),
		IsDrill:        aws.ToBool(r.IsDrill),
		EC2State:       string(r.Ec2InstanceState),
		Origin:         string(r.OriginEnvironment),
	}
	if r.Failback != nil {
		out.FailbackState = string(r.Failback.State)
	}
	var err error
	if out.PointInTime, err = ParseTime(aws.ToString(r.PointInTimeSnapshotDateTime)); err != nil {
		return out, fmt.Errorf("recovery instance %s: pointInTimeSnapshotDateTime: %w", out.ID, err)
	}
	return out, nil
}

func convertLaunchConfiguration(o *awsdrs.GetLaunchConfigurationOutput) ripcord.LaunchConfiguration {
	out := ripcord.LaunchConfiguration{
		SourceServerID:    aws.ToString(o.SourceServerID),
		Name:              aws.ToString(o.Name),
		LaunchDisposition: string(o.LaunchDisposition),
		RightSizing:       string(o.TargetInstanceTypeRightSizingMethod),
		CopyPrivateIP:     aws.ToBool(o.CopyPrivateIp),
		CopyTags:          aws.ToBool(o.CopyTags),
		LaunchTemplateID:  aws.ToString(o.Ec2LaunchTemplateID),
		PostLaunchActions: aws.ToBool(o.PostLaunchEnabled),
	}
	if o.Licensing != nil {
		out.BYOL = aws.ToBool(o.Licensing.OsByol)
	}
	return out
}

func convertRecoverySnapshot(s types.RecoverySnapshot) (ripcord.RecoverySnapshot, error) {
	out := ripcord.RecoverySnapshot{ID: aws.ToString(s.SnapshotID), SourceServerID: aws.ToString(s.SourceServerID)}
	var err error
	if out.Expected, err = ParseTime(aws.ToString(s.ExpectedTimestamp)); err != nil {
		return out, fmt.Errorf("recovery snapshot %s: expectedTimestamp: %w", out.ID, err)
	}
	if out.Taken, err = ParseTime(aws.ToString(s.Timestamp)); err != nil {
		return out, fmt.Errorf("recovery snapshot %s: timestamp: %w", out.ID, err)
	}
	return out, nil
}
