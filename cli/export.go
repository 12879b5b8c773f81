package cli

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"

	"github.com/ipfs/go-cid"
	"github.com/spf13/cobra"
)

func newExportCmd(g *globalFlags) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "export CID",
		Short: "Write the DAG under CID as a CAR file (to stdout, or --output)",
		Long: `Export writes every block of the DAG under CID as a CARv1, depth-first without
duplicates: the same bytes as GET /ipfs/CID?format=car&dag-scope=all&car-order=dfs&car-dups=n.
Only local blocks are used; a DAG not stored here in full is an error, and an
export cut short fails (with --output the partial file is removed).

  ninja export bafy… > dag.car`,
		Args: cobra.ExactArgs(1),
		RunE: withClient(g, func(cmd *cobra.Command, args []string, c *apiClient) error {
			root, err := cid.Decode(args[0])
			if err != nil {
				return usageError{fmt.Errorf("%q is not a valid CID: %w", args[0], err)}
			}
			var w io.Writer = cmd.OutOrStdout()
			if out != "" {
				f, err := os.Create(out)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			if err := exportCAR(cmd, c, root, w); err != nil {
				if out != "" {
					os.Remove(out)
				}
				return err
			}
			return nil
		}),
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the CAR to this file instead of stdout")
	return cmd
}

// exportCAR streams the CAR: a remote server's through its public gateway,
// a local one's (or the data directory's) through the admin API.
func exportCAR(cmd *cobra.Command, c *apiClient, root cid.Cid, w io.Writer) error {
	path := "/admin/export/" + root.String()
	if c.remote {
		path = "/ipfs/" + root.String() + "?" + url.Values{"format": {"car"}, "dag-scope": {"all"},
			"car-order": {"dfs"}, "car-dups": {"n"}}.Encode()
	}
	req, err := c.request(cmd.Context(), "GET", path, nil)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return decodeResponse(resp, nil)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("export %s: %w", root, err)
	}
	return nil
}
