package pinning

import (
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"strings"
)

// What ninja does with ImageKit's upload parameters (token.ImageKitParams),
// whether an upload JWT signs them or a form sends them:
//
//   - tags ("summer,dress") becomes the pin's metadata key "tags";
//   - customMetadata (a JSON object) is merged into the pin's metadata,
//     each value kept as a string (non-strings as their JSON text);
//   - folder ("/images/summer/") becomes a path prefix of the pin's name
//     ("images/summer/dress.jpg");
//   - every other one (useUniqueFileName, isPrivateFile, overwriteFile,
//     webhookUrl, …) has no effect in ninja — a CID is unique by content and
//     no upload ever overwrites another — and is recorded in the metadata
//     as "imagekit:<name>" so the app can see what it asked for.
const recordedPrefix = "imagekit:"

// applyFields turns a request's bound Fields into the pin's name and
// metadata as described above.
func applyFields(name string, meta map[string]string, fields map[string]string) (string, map[string]string, error) {
	if len(fields) == 0 {
		return name, meta, nil
	}
	out := maps.Clone(meta)
	if out == nil {
		out = map[string]string{}
	}
	for k, v := range fields {
		switch k {
		case "tags":
			out["tags"] = v
		case "customMetadata":
			if err := mergeCustomMetadata(out, v); err != nil {
				return "", nil, err
			}
		case "folder":
			if dir := strings.Trim(path.Clean("/"+v), "/"); dir != "" {
				name = dir + "/" + name
			}
		default:
			out[recordedPrefix+k] = v
		}
	}
	if err := checkLabel("name", name, MaxNameLen); err != nil {
		return "", nil, err
	}
	return name, out, checkMetadata(out)
}

func mergeCustomMetadata(out map[string]string, raw string) error {
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return fmt.Errorf("%w: customMetadata must be a JSON object", ErrInvalid)
	}
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = s
			continue
		}
		b, _ := json.Marshal(v)
		out[k] = string(b)
	}
	return nil
}
