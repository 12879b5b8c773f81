package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// envAnnotation names the environment variable a flag reads.
const envAnnotation = "ninja-env"

// bindEnv makes the flag name read the environment variable env when the
// flag is not given.
func bindEnv(fs *pflag.FlagSet, name, env string) {
	if err := fs.SetAnnotation(name, envAnnotation, []string{env}); err != nil {
		panic(err) // a typo in a flag name: a programming error
	}
}

// applyEnv sets every unset flag of cmd (its own and inherited) from its
// environment variable, if that is set, with the flag's own parser: a bad
// value is an error naming the variable, and a variable set to the empty
// string is a value too (NINJA_BOOTSTRAP= means no bootstrap peers).
// Precedence: flag > environment > default; serve's --config file comes
// after the environment (applyConfig).
func applyEnv(cmd *cobra.Command) error {
	var err error
	apply := func(f *pflag.Flag) {
		names := f.Annotations[envAnnotation]
		if err != nil || f.Changed || len(names) == 0 {
			return
		}
		v, ok := os.LookupEnv(names[0])
		if !ok {
			return
		}
		if e := cmd.Flags().Set(f.Name, v); e != nil {
			err = fmt.Errorf("%s=%q: invalid value for --%s: %v", names[0], v, f.Name, e)
			return
		}
		err = cmd.Flags().SetAnnotation(f.Name, sourceAnnotation, []string{"env " + names[0]})
	}
	cmd.Flags().VisitAll(apply)
	return err
}
