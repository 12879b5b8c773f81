package cli

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The configuration file is TOML, read with github.com/BurntSushi/toml.
//
// TOML, not YAML: every setting is a flat key named like its flag
// (`acme-domains = ["pin.example.com"]`), values have explicit types (a
// string is quoted, `no` is not false, `010` is not octal), and comments
// are allowed. BurntSushi/toml is small, has no dependencies, reports the
// keys it did not decode (so an unknown key is an error, not ignored) and
// gives the line of a value that fails to decode. gopkg.in/yaml.v3 is no
// longer maintained.
//
// Each value goes through its flag's own parser (pflag's Set), so the file
// accepts exactly what the flag and its environment variable accept, with
// the same errors, plus TOML's types: booleans, numbers, and arrays for
// the comma-separated lists.

// sourceAnnotation records where a flag's value came from: "env NAME" or
// "file PATH" (set by applyEnv and applyConfig); a changed flag without it
// came from the command line.
const sourceAnnotation = "ninja-source"

// notInFile are the flags of serve's flag set that are not serve settings:
// the file itself, help, and the client commands' global flags.
var notInFile = map[string]bool{"config": true, "help": true, "server": true, "api-key": true, "account": true, "json": true}

// applyConfig sets every flag of cmd that neither the command line nor
// the environment set from the TOML file at path (none when path is ""):
// precedence flag > environment > file > default. Every key must be a
// serve flag and every value must parse, also for flags set elsewhere, so
// a file that would fail alone fails here too; errors name the file, the
// line (when TOML gives it) and the key.
func applyConfig(cmd *cobra.Command, path string) error {
	if path == "" {
		return nil
	}
	text, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	fs := cmd.Flags()
	// A fresh copy of the flags checks the values the file does not get
	// to set, without touching the real ones.
	scratch := newServeCmd(&globalFlags{}).Flags()
	scratch.AddFlagSet(newRootCmd().PersistentFlags())
	var keys []*fileSetting
	var fields []reflect.StructField
	fs.VisitAll(func(f *pflag.Flag) {
		if notInFile[f.Name] {
			return
		}
		keys = append(keys, &fileSetting{flag: f, fs: fs, scratch: scratch, path: path})
		fields = append(fields, reflect.StructField{
			Name: fmt.Sprintf("F%d", len(fields)),
			Type: reflect.TypeFor[*fileSetting](),
			Tag:  reflect.StructTag(fmt.Sprintf("toml:%q", f.Name)),
		})
	})
	// A struct with one field per flag, each a fileSetting that knows its
	// flag, lets TOML hand every value to its flag's parser while it still
	// knows the key's line.
	v := reflect.New(reflect.StructOf(fields))
	for i, k := range keys {
		v.Elem().Field(i).Set(reflect.ValueOf(k))
	}
	md, err := toml.Decode(string(text), v.Interface())
	if err != nil {
		return configError(path, err)
	}
	if un := md.Undecoded(); len(un) > 0 {
		k := un[0].String()
		return fmt.Errorf("config file %s%s: unknown key %q: serve has no --%s flag (keys are serve's flag names, without tables)",
			path, lineOf(text, un[0][0]), k, k)
	}
	return nil
}

// configError formats a TOML error as FILE:LINE: key: problem.
func configError(path string, err error) error {
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	where := path
	if pe.Position.Line > 0 {
		where = fmt.Sprintf("%s:%d", path, pe.Position.Line)
	}
	if pe.LastKey != "" {
		return fmt.Errorf("config file %s: %s: %s", where, pe.LastKey, pe.Message)
	}
	return fmt.Errorf("config file %s: %s", where, pe.Message)
}

// lineOf is ":N" for the first line that sets key (or opens a table of
// that name), for errors about keys TOML gives no position for.
func lineOf(text []byte, key string) string {
	for i, line := range bytes.Split(text, []byte("\n")) {
		l := strings.TrimSpace(string(line))
		l = strings.TrimLeft(l, "[")
		l = strings.Trim(l, `"'`)
		if strings.HasPrefix(l, key) {
			rest := strings.TrimLeft(strings.TrimPrefix(l, key), `"' `)
			if rest == "" || rest[0] == '=' || rest[0] == ']' || rest[0] == '.' {
				return fmt.Sprintf(":%d", i+1)
			}
		}
	}
	return ""
}

// fileSetting is one flag's value in the file.
type fileSetting struct {
	flag    *pflag.Flag
	fs      *pflag.FlagSet // the command's flags
	scratch *pflag.FlagSet // a fresh copy, for values that do not apply
	path    string
}

// UnmarshalTOML converts the TOML value to the flag's text form and sets
// the flag with it, unless the command line or environment set it, in
// which case the value is only checked.
func (s *fileSetting) UnmarshalTOML(data any) error {
	text, err := tomlText(s.flag.Value.Type(), data)
	if err != nil {
		return err
	}
	if s.flag.Changed {
		return s.scratch.Set(s.flag.Name, text)
	}
	if err := s.fs.Set(s.flag.Name, text); err != nil {
		return err
	}
	return s.fs.SetAnnotation(s.flag.Name, sourceAnnotation, []string{"file " + s.path})
}

// tomlText turns a TOML value into what the flag of type typ parses:
// lists from arrays (or a comma-separated string, as in the environment),
// numbers and booleans from their TOML types or from strings; a string
// flag takes only a string, so `http = 8080` is an error, not an address.
func tomlText(typ string, data any) (string, error) {
	switch v := data.(type) {
	case []any:
		if typ != "stringSlice" {
			return "", fmt.Errorf("want a single %s, not an array", typeWord(typ))
		}
		rec := make([]string, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return "", fmt.Errorf("want an array of strings, have %T at index %d", e, i)
			}
			rec[i] = s
		}
		var b strings.Builder
		w := csv.NewWriter(&b)
		w.Write(rec)
		w.Flush()
		return strings.TrimSuffix(b.String(), "\n"), nil
	case string:
		return v, nil
	case bool:
		if typ == "bool" {
			return strconv.FormatBool(v), nil
		}
	case int64:
		if typ == "int" || typ == "int64" || typ == "float64" {
			return strconv.FormatInt(v, 10), nil
		}
	case float64:
		if typ == "float64" {
			return strconv.FormatFloat(v, 'g', -1, 64), nil
		}
	case map[string]any:
		return "", errors.New("want a value, not a table")
	case time.Time:
		return "", errors.New("want a value, not a date-time")
	}
	return "", fmt.Errorf("want %s, have a TOML %s", typeWord(typ), tomlTypeWord(data))
}

func typeWord(typ string) string {
	switch typ {
	case "bool":
		return "a boolean (true or false)"
	case "int", "int64":
		return "an integer"
	case "float64":
		return "a number"
	case "duration":
		return `a duration string like "10m"`
	case "stringSlice":
		return "an array of strings"
	}
	return "a string"
}

func tomlTypeWord(v any) string {
	switch v.(type) {
	case bool:
		return "boolean"
	case int64:
		return "integer"
	case float64:
		return "float"
	}
	return fmt.Sprintf("%T", v)
}

// source says where flag f's value came from.
func source(f *pflag.Flag) string {
	if s := f.Annotations[sourceAnnotation]; len(s) > 0 {
		return s[0]
	}
	if f.Changed {
		return "flag"
	}
	return "default"
}
