package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ninja-ipfs/ninja/api"
)

func newGCCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "gc",
		Short: "Delete every block no pin references, and report what was freed",
		Long: `Garbage collection keeps every block reachable from a pin record (of any
account, in any state) and deletes the rest. It is safe while uploads and
pin fetches run. It runs inside the server when one runs on --data (or at
--server, with an admin key), else on the data directory directly.`,
		Args: cobra.NoArgs,
		RunE: withClient(g, func(cmd *cobra.Command, _ []string, c *apiClient) error {
			var res api.GCResult
			if err := c.do(cmd.Context(), "POST", "/admin/gc", nil, &res); err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), res)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "freed %d blocks, %s (%d live roots, %.0f ms)\n",
				res.Blocks, human(res.Bytes), res.Roots, res.DurationMS)
			return nil
		}),
	}
}
