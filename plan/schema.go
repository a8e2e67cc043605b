package plan

import (
	"bytes"
	"encoding/json"
)

// Schema returns a JSON Schema (draft 2020-12) of plan files, for editors
// (for example with the YAML language server: a "# yaml-language-server:
// $schema=…" comment). It is generated from the same key lists the decoder
// uses, so the two cannot disagree on keys. It checks shapes and formats; the
// decoder checks more (references, cycles, duplicates).
func Schema() []byte {
	defs := jsonObject{
		{"name", jsonObject{
			{"type", "string"},
			{"pattern", namePattern},
			{"description", "1 to 63 letters, digits, '.', '_' and '-', starting with a letter or digit."},
		}},
		{"duration", jsonObject{
			{"type", "string"},
			{"pattern", durationPattern},
			{"description", "A Go duration, such as 10m, 90s or 1h30m."},
		}},
		{"serverId", jsonObject{
			{"type", "string"},
			{"pattern", serverIDPattern},
			{"description", "A DRS source server ID: s- and 17 letters or digits."},
		}},
	}
	for _, o := range objects[1:] {
		defs = append(defs, jsonMember{o.def, objectSchema(o)})
	}
	root := jsonObject{
		{"$schema", "https://json-schema.org/draft/2020-12/schema"},
		{"title", "ripcord plan file"},
	}
	root = append(root, objectSchema(fileObject)...)
	root = append(root, jsonMember{"$defs", defs})
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(root); err != nil {
		panic("plan: encoding the schema: " + err.Error()) // strings, lists and objects always encode
	}
	return buf.Bytes()
}

func objectSchema(o *object) jsonObject {
	props := jsonObject{}
	var required []string
	for _, f := range o.fields {
		props = append(props, jsonMember{f.key, fieldSchema(&f)})
		if f.required {
			required = append(required, f.key)
		}
	}
	s := jsonObject{
		{"description", o.doc},
		{"type", "object"},
		{"properties", props},
	}
	if required != nil {
		s = append(s, jsonMember{"required", required})
	}
	return append(s, jsonMember{"additionalProperties", false})
}

func ref(def string) jsonObject { return jsonObject{{"$ref", "#/$defs/" + def}} }

func fieldSchema(f *field) jsonObject {
	var s jsonObject
	str := func(pattern string) jsonObject {
		return jsonObject{{"type", "string"}, {"pattern", pattern}}
	}
	switch f.kind {
	case kText:
		s = jsonObject{{"type", "string"}}
	case kName:
		s = ref("name")
	case kAccount:
		s = str(accountPattern)
	case kRegion:
		s = str(regionPattern)
	case kRoleARN:
		s = str(roleARNPattern)
	case kExternalID:
		s = append(str(externalIDPattern), jsonMember{"maxLength", maxExternalID})
	case kURL:
		s = jsonObject{{"type", "string"}, {"format", "uri"}, {"pattern", "^https?://"}}
	case kServerID:
		s = ref("serverId")
	case kDuration:
		s = ref("duration")
	case kEnum:
		s = jsonObject{{"enum", f.enum}}
	case kBool:
		s = jsonObject{{"type", "boolean"}}
	case kNames:
		items := ref("name")
		if len(f.enum) > 0 {
			items = jsonObject{{"enum", f.enum}}
		}
		s = jsonObject{{"type", "array"}, {"items", items}, {"uniqueItems", true}}
	case kSNSTopic:
		s = str(snsTopicPattern)
	case kServerIDs:
		s = jsonObject{{"type", "array"}, {"items", ref("serverId")}, {"uniqueItems", true}}
	case kTags:
		s = jsonObject{
			{"type", "object"},
			{"minProperties", 1},
			{"propertyNames", jsonObject{{"minLength", 1}, {"maxLength", maxTagKey}}},
			{"additionalProperties", jsonObject{{"type", "string"}, {"maxLength", maxTagValue}}},
		}
	case kServerRefs:
		s = jsonObject{{"type", "array"}, {"items", jsonObject{{"oneOf", []jsonObject{ref("serverId"), ref(serverRefObject.def)}}}}}
	case kObjects:
		s = jsonObject{{"type", "array"}, {"items", ref(f.object.def)}}
	case kObject:
		s = ref(f.object.def)
	case kObjectMap:
		s = jsonObject{{"type", "object"}, {"propertyNames", ref("serverId")}, {"additionalProperties", ref(f.object.def)}}
	case kInt:
		s = jsonObject{{"type", "integer"}, {"minimum", 0}}
	case kStrings:
		s = jsonObject{{"type", "array"}, {"items", jsonObject{{"type", "string"}}}, {"minItems", 1}}
	case kStringMap:
		s = jsonObject{{"type", "object"}, {"additionalProperties", jsonObject{{"type", "string"}}}}
	case kStringLists:
		s = jsonObject{{"type", "object"}, {"additionalProperties", jsonObject{{"oneOf", []jsonObject{
			{{"type", "string"}}, {{"type", "array"}, {"items", jsonObject{{"type", "string"}}}}}}}}}
	case kHeaders:
		from := func(key string) jsonObject {
			return jsonObject{{"type", "object"}, {"properties", jsonObject{{key, jsonObject{{"type", "string"}}}}}, {"required", []string{key}}, {"additionalProperties", false}}
		}
		s = jsonObject{{"type", "object"}, {"additionalProperties", jsonObject{{"oneOf", []jsonObject{
			{{"type", "string"}}, from("env"), from("secret")}}}}}
	}
	s = append(s, jsonMember{"description", f.doc})
	if f.def != "" {
		s = append(s, jsonMember{"default", f.def})
	}
	return s
}

// jsonObject is a JSON object that keeps its keys in order.
type jsonObject []jsonMember

type jsonMember struct {
	key   string
	value any
}

func (o jsonObject) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := json.Marshal(m.key)
		if err != nil {
			return nil, err
		}
		v, err := marshalNoEscape(m.value)
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// marshalNoEscape is json.Marshal without HTML escaping, so patterns stay
// readable.
func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
