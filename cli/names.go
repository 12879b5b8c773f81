package cli

import (
	"fmt"
	"io"
	"net/url"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ninja-ipfs/ninja/api"
)

// newNameCmd is `ninja name`: the account's IPNS names (POST/GET/DELETE
// /names, POST /names/{name}).
func newNameCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "name", Short: "Manage IPNS names: keys ninja holds, records it signs, serves and republishes"}
	cmd.AddCommand(newNameCreateCmd(g), newNameListCmd(g), newNamePublishCmd(g), newNameDeleteCmd(g))
	return cmd
}

func newNameCreateCmd(g *globalFlags) *cobra.Command {
	var external string
	cmd := &cobra.Command{
		Use:   "create LABEL [--external k51…]",
		Short: "Create an IPNS name (a new Ed25519 key held by ninja) and print it",
		Args:  cobra.ExactArgs(1),
		RunE: withClient(g, func(cmd *cobra.Command, args []string, c *apiClient) error {
			var n api.Name
			if err := c.do(cmd.Context(), "POST", "/names", api.NameRequest{Name: args[0], IPNSName: external}, &n); err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), n)
			}
			fmt.Fprintln(cmd.OutOrStdout(), n.IPNSName)
			return nil
		}),
	}
	cmd.Flags().StringVar(&external, "external", "", "register a name whose key you keep: ninja then keeps the records you PUT to /routing/v1/ipns/NAME")
	return cmd
}

func newNameListCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the account's IPNS names and what each points at",
		Args:  cobra.NoArgs,
		RunE: withClient(g, func(cmd *cobra.Command, _ []string, c *apiClient) error {
			names, err := listAll[api.Name](cmd.Context(), c, "/names")
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), names)
			}
			return printNames(cmd.OutOrStdout(), names)
		}),
	}
}

func printNames(w io.Writer, names []api.Name) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LABEL\tIPNS NAME\tSEQ\tVALUE\tVALID UNTIL")
	for _, n := range names {
		value, validity := n.Value, n.Validity
		if value == "" {
			value, validity = "(not published)", "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", n.Name, n.IPNSName, n.Sequence, value, validity)
	}
	return tw.Flush()
}

func newNamePublishCmd(g *globalFlags) *cobra.Command {
	var (
		seq           uint64
		lifetime, ttl string
	)
	cmd := &cobra.Command{
		Use:   "publish LABEL|NAME VALUE [--sequence N] [--lifetime 48h] [--ttl 5m]",
		Short: "Point a name at /ipfs/CID[/path] (or a bare CID): ninja signs the record, serves it and puts it to the DHT",
		Args:  cobra.ExactArgs(2),
		RunE: withClient(g, func(cmd *cobra.Command, args []string, c *apiClient) error {
			req := api.PublishRequest{Value: args[1], Lifetime: jsonString(lifetime), TTL: jsonString(ttl)}
			if cmd.Flags().Changed("sequence") {
				req.Sequence = &seq
			}
			var n api.Name
			if err := c.do(cmd.Context(), "POST", "/names/"+url.PathEscape(args[0]), req, &n); err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), n)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "/ipns/%s -> %s (sequence %d, valid until %s)\n", n.IPNSName, n.Value, n.Sequence, n.Validity)
			return nil
		}),
	}
	fl := cmd.Flags()
	fl.Uint64Var(&seq, "sequence", 0, "the record's sequence, greater than the current one (default: the next)")
	fl.StringVar(&lifetime, "lifetime", "", `how long the record is valid, e.g. "48h" (default 48h, 1h to 720h); ninja republishes it before it ends`)
	fl.StringVar(&ttl, "ttl", "", `how long resolvers may cache it, e.g. "5m" (default 5m)`)
	return cmd
}

func newNameDeleteCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "delete LABEL|NAME",
		Short: "Delete a name and its key; its record is no longer served or republished",
		Args:  cobra.ExactArgs(1),
		RunE: withClient(g, func(cmd *cobra.Command, args []string, c *apiClient) error {
			if err := c.do(cmd.Context(), "DELETE", "/names/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", args[0])
			return nil
		}),
	}
}
