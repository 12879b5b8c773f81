package cli

import (
	"fmt"
	"net/url"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ninja-ipfs/ninja/api"
)

func newSigningKeyCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "signing-key", Short: "Manage upload-signing keys (an app's backend signs upload JWTs with them)"}
	var name, issuer string
	create := &cobra.Command{
		Use:   "create [--name NAME]",
		Short: "Create an upload-signing key; its secret is printed once",
		Args:  cobra.NoArgs,
		RunE: withClient(g, func(cmd *cobra.Command, _ []string, c *apiClient) error {
			path := "/upload-signing-keys"
			if issuer != "" {
				path += "?key=" + url.QueryEscape(issuer)
			}
			var k api.SigningKey
			if err := c.do(cmd.Context(), "POST", path, api.SigningKeyRequest{Name: name}, &k); err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), k)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "created signing key (kid) %s; sign upload JWTs (HS256, header kid) with the secret below, shown once:\n", k.KID)
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", k.KID, k.Secret)
			return nil
		}),
	}
	create.Flags().StringVar(&name, "name", "", "a name for the key")
	create.Flags().StringVar(&issuer, "key", "", "id of the API key that owns it (admin socket or database only)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List upload-signing keys",
		Args:  cobra.NoArgs,
		RunE: withClient(g, func(cmd *cobra.Command, _ []string, c *apiClient) error {
			keys, err := listAll[api.SigningKey](cmd.Context(), c, "/upload-signing-keys")
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), keys)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KID\tNAME\tSTATUS\tCREATED")
			for _, k := range keys {
				status := "active"
				if k.Revoked {
					status = "revoked"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.KID, k.Name, status, formatMillis(k.CreatedAt))
			}
			return tw.Flush()
		}),
	}
	revoke := revokeCmd(g, "Revoke an upload-signing key: every JWT under its kid is refused at once", "/upload-signing-keys/")
	cmd.AddCommand(create, list, revoke)
	return cmd
}
