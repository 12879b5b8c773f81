package main

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
Only local blocks are used; a DAG not stored here in full is an error.

  ninja export bafy… > dag.car`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cid.Decode(args[0])
			if err != nil {
				return fmt.Errorf("%q is not a valid CID: %w", args[0], err)
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
			if err := exportCAR(cmd, g, c, w); err != nil {
				if out != "" {
					os.Remove(out)
				}
				return err
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the CAR to this file instead of stdout")
	return cmd
}

func exportCAR(cmd *cobra.Command, g *globalFlags, c cid.Cid, w io.Writer) error {
	ctx := cmd.Context()
	if !serverReachable(g) {
		l, err := openLocal(ctx, g)
		if err != nil {
			return err
		}
		defer l.close()
		if _, complete, err := l.node.LocalDAG(ctx, c); err != nil || !complete {
			return fmt.Errorf("export %s: not stored here in full", c)
		}
		return l.node.ExportCAR(ctx, c, w)
	}
	cl, err := connect(g)
	if err != nil {
		return err
	}
	defer cl.close()
	// A remote server exports through its public gateway; the local one
	// through the admin socket.
	u := cl.base + "/admin/export/" + c.String()
	if g.server != "" {
		u = cl.base + "/ipfs/" + c.String() + "?" + url.Values{"format": {"car"}, "dag-scope": {"all"},
			"car-order": {"dfs"}, "car-dups": {"n"}}.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return err
	}
	if cl.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+cl.apiKey)
	}
	resp, err := cl.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return decodeResponse(resp, nil)
	}
	_, err = io.Copy(w, resp.Body)
	return err
}
