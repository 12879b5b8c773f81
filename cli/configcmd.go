package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// setting is one effective serve setting, as `ninja config show` prints it.
type setting struct {
	Name   string `json:"name"`
	Value  any    `json:"value"`
	Source string `json:"source"` // flag, env NAME, file PATH or default
}

// redacted stands for a secret's value.
const redacted = "<redacted>"

func newConfigCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Inspect serve's configuration"}
	f := &serveFlags{}
	show := &cobra.Command{
		Use:   "show [--config FILE] [serve flags]",
		Short: "Print the effective serve configuration and where each setting came from, secrets redacted",
		Long: `Print every serve setting as serve would use it, with flags, environment
variables and the --config file applied (flag > environment > file > default),
as TOML that serve --config reads back. Each line says where its value came
from. Values of settings named like a secret (key, secret, password, token)
and passwords inside URLs are shown as <redacted>; --tls-key is a file name
and is shown.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyConfig(cmd, f.configPath); err != nil {
				return err
			}
			if err := f.resolveAddrs(cmd.Flags().Changed("http")); err != nil {
				return err
			}
			all := effective(cmd.Flags(), f)
			if g.json {
				return printJSON(cmd.OutOrStdout(), all)
			}
			return printSettings(cmd.OutOrStdout(), all)
		},
	}
	f.register(show.Flags())
	cmd.AddCommand(show)
	return cmd
}

// effective lists every serve setting of fs, by name.
func effective(fs *pflag.FlagSet, f *serveFlags) []setting {
	var out []setting
	fs.VisitAll(func(fl *pflag.Flag) {
		if notInFile[fl.Name] {
			return
		}
		s := setting{Name: fl.Name, Source: source(fl)}
		switch fl.Value.Type() {
		case "stringSlice":
			list, _ := fs.GetStringSlice(fl.Name)
			if fl.Name == "bootstrap" {
				list = f.bootstrapPeers(fl.Changed)
			}
			if list == nil {
				list = []string{}
			}
			s.Value = list
		case "bool", "int", "int64", "float64":
			s.Value = json.RawMessage(fl.Value.String())
		default:
			s.Value = fl.Value.String()
		}
		s.Value = redact(fl.Name, s.Value)
		out = append(out, s)
	})
	return out
}

// isSecret reports a setting whose value is a secret by its name.
func isSecret(name string) bool {
	switch name {
	case "tls-key": // the key's file name, not the key
		return false
	case "token-grace": // a duration
		return false
	}
	for _, w := range []string{"key", "secret", "password", "token"} {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// redact hides a secret setting's value (an empty one stays visible, so
// it shows as unset) and the password of any URL.
func redact(name string, v any) any {
	switch x := v.(type) {
	case string:
		if x != "" && isSecret(name) {
			return redacted
		}
		return redactURL(x)
	case []string:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = redact(name, e).(string)
		}
		return out
	}
	return v
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
		return strings.Replace(u.String(), "xxxxx", redacted, 1)
	}
	return s
}

// printSettings writes the settings as TOML, each with its source.
func printSettings(w io.Writer, all []setting) error {
	fmt.Fprintln(w, "# ninja serve: the effective configuration (flag > environment > file > default)")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, s := range all {
		// JSON's strings, numbers and arrays of strings are TOML too.
		var v strings.Builder
		enc := json.NewEncoder(&v)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s.Value); err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s = %s\t# %s\n", s.Name, strings.TrimSpace(v.String()), s.Source)
	}
	return tw.Flush()
}
