package plan

import (
	"errors"
	"fmt"

	"github.com/ripcord-dr/ripcord"
)

// schedule checks a plan's schedule: a cron expression that parses and
// fires, read in a time zone that exists; a time zone only with a schedule.
func (v *validator) schedule(set ripcord.Settings, path, subj string) {
	if set.Schedule == "" {
		if set.TimeZone != "" {
			v.add(path+".timeZone", fmt.Sprintf("%s has a timeZone but no schedule", subj),
				`timeZone says how schedule is read: add schedule: "0 3 * * 1" (for example) or remove timeZone`)
		}
		return
	}
	_, err := ripcord.ParseCron(set.Schedule, set.TimeZone)
	if err == nil {
		return
	}
	var re *ripcord.Error
	if !errors.As(err, &re) {
		v.add(path+".schedule", fmt.Sprintf("schedule of %s: %v", subj, err), "")
		return
	}
	key := ".schedule"
	if set.TimeZone != "" && re.Message == fmt.Sprintf("unknown time zone %q", set.TimeZone) {
		key = ".timeZone"
	}
	v.add(path+key, fmt.Sprintf("%s of %s: %s", key[1:], subj, re.Message), re.Hint)
}
