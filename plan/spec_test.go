package plan

import (
	"os"
	"strings"
	"testing"
)

// TestDocsCoverEveryKey checks that docs/plans.md documents every key of
// the format in the table of its section, so that the docs cannot fall
// behind the decoder.
func TestDocsCoverEveryKey(t *testing.T) {
	data, err := os.ReadFile("../docs/plans.md")
	if err != nil {
		t.Fatal(err)
	}
	headings := map[*object]string{
		fileObject:        "## The file",
		targetObject:      "## Targets",
		groupObject:       "## Protection groups",
		planObject:        "## Plans",
		stepObject:        "## Steps and waves",
		serverRefObject:   "### Servers of a step",
		notifyObject:      "## Notifications",
		launchObject:      "## Launch overrides",
		checkObject:       "### Health checks",
		hookObject:        "## Hooks",
		stepHooksObject:   "### Before and after hooks",
		httpHookObject:    "### HTTP hooks",
		ssmHookObject:     "### SSM hooks",
		commandHookObject: "### Command hooks",
	}
	for _, o := range objects {
		h, ok := headings[o]
		if !ok {
			t.Errorf("object %q has no section in docs/plans.md; add one and list it here", o.name)
			continue
		}
		section := sectionOf(string(data), h)
		if section == "" {
			t.Errorf("docs/plans.md has no section %q", h)
			continue
		}
		for _, key := range o.keys() {
			if !strings.Contains(section, "| `"+key+"` |") {
				t.Errorf("docs/plans.md, %s: no table row for key %q", h, key)
			}
		}
	}
}

// sectionOf returns the text under heading up to the next heading of the
// same or a higher level.
func sectionOf(doc, heading string) string {
	i := strings.Index(doc, "\n"+heading+"\n")
	if i < 0 {
		return ""
	}
	rest := doc[i+len(heading)+2:]
	level := strings.Index(heading, " ") // number of '#'
	for _, l := range strings.SplitAfter(rest, "\n") {
		if n := strings.Index(l, " "); strings.HasPrefix(l, "#") && n > 0 && n <= level && strings.Trim(l[:n], "#") == "" {
			return rest[:strings.Index(rest, l)]
		}
	}
	return rest
}

// TestSpecKinds checks that every field's kind has a YAML shape and a
// description, and that list-of-object fields name their object.
func TestSpecKinds(t *testing.T) {
	for _, o := range objects {
		for i := range o.fields {
			f := &o.fields[i]
			if f.doc == "" {
				t.Errorf("%s.%s has no doc", o.name, f.key)
			}
			if (f.kind == kObjects || f.kind == kObject || f.kind == kObjectMap) != (f.object != nil) {
				t.Errorf("%s.%s: object set for kind %d", o.name, f.key, f.kind)
			}
			if (f.kind == kEnum) != (len(f.enum) > 0) && f.kind != kNames { // names may be limited to an enum
				t.Errorf("%s.%s: enum set for kind %d", o.name, f.key, f.kind)
			}
			if f.describeKind() == "a value" {
				t.Errorf("%s.%s: kind %d has no description", o.name, f.key, f.kind)
			}
		}
	}
}
