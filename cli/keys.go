package cli

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ninja-ipfs/ninja/api"
)

func newAccountCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "account", Short: "Manage accounts (tenants: each has its own keys, tokens and pins)"}
	cmd.AddCommand(&cobra.Command{
		Use:   "create NAME",
		Short: "Create an account",
		Args:  cobra.ExactArgs(1),
		RunE: withClient(g, func(cmd *cobra.Command, args []string, c *apiClient) error {
			var a api.Account
			if err := c.do(cmd.Context(), "POST", "/admin/accounts", api.AccountRequest{Name: args[0]}, &a); err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), a)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\n", a.ID, a.Name)
			return nil
		}),
	}, &cobra.Command{
		Use:   "list",
		Short: "List accounts",
		Args:  cobra.NoArgs,
		RunE: withClient(g, func(cmd *cobra.Command, _ []string, c *apiClient) error {
			list, err := listAll[api.Account](cmd.Context(), c, "/admin/accounts")
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), list)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tCREATED")
			for _, a := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", a.ID, a.Name, a.Created)
			}
			return tw.Flush()
		}),
	}, newQuotaCmd(g))
	return cmd
}

// newQuotaCmd is `ninja account quota NAME [--storage 10GiB --pins N
// --queued N --fetch 1GiB]`: with no flag it shows the account's quota and
// usage, with flags it sets the override ("default" or "unlimited" too).
func newQuotaCmd(g *globalFlags) *cobra.Command {
	var storage, pins, queued, fetch string
	cmd := &cobra.Command{
		Use:   "quota NAME [--storage 10GiB] [--pins N] [--queued N] [--fetch 1GiB]",
		Short: "Show or set an account's quota (stored bytes, pins, queued pin requests, bytes per fetch)",
		Args:  cobra.ExactArgs(1),
		RunE: withClient(g, func(cmd *cobra.Command, args []string, c *apiClient) error {
			path := "/admin/accounts/" + url.PathEscape(args[0]) + "/quota"
			var out api.AccountQuota
			req := api.QuotaRequest{MaxStoredBytes: quotaArg(storage), MaxPins: quotaArg(pins),
				MaxQueued: quotaArg(queued), MaxFetchBytes: quotaArg(fetch)}
			method, body := "GET", any(nil)
			if storage+pins+queued+fetch != "" {
				method, body = "PUT", req
			}
			if err := c.do(cmd.Context(), method, path, body, &out); err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), out)
			}
			return printQuota(cmd, out)
		}),
	}
	fl := cmd.Flags()
	fl.StringVar(&storage, "storage", "", `bytes stored, each CID once ("10GiB", "default", "unlimited")`)
	fl.StringVar(&pins, "pins", "", "pin records")
	fl.StringVar(&queued, "queued", "", "pin-by-CID requests queued at once")
	fl.StringVar(&fetch, "fetch", "", "bytes one pin-by-CID fetch may pull")
	return cmd
}

func quotaArg(v string) json.RawMessage {
	if v == "" {
		return nil
	}
	return jsonString(v)
}

func printQuota(cmd *cobra.Command, q api.AccountQuota) error {
	limit := func(n int64, bytes bool) string {
		switch {
		case n <= 0:
			return "no limit"
		case bytes:
			return human(n)
		}
		return fmt.Sprint(n)
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "account\t%s (%s)\n", q.Account.Name, q.Account.ID)
	fmt.Fprintf(tw, "stored\t%s of %s\n", human(q.Usage.Bytes), limit(q.Effective.MaxStoredBytes, true))
	fmt.Fprintf(tw, "pins\t%d of %s\n", q.Usage.Records, limit(q.Effective.MaxPins, false))
	fmt.Fprintf(tw, "queued\t%d of %s\n", q.Usage.Queued, limit(q.Effective.MaxQueued, false))
	fmt.Fprintf(tw, "per fetch\t%s\n", limit(q.Effective.MaxFetchBytes, true))
	return tw.Flush()
}

func newKeyCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "key", Short: "Manage API keys (bws_…)"}
	cmd.AddCommand(newKeyCreateCmd(g), newKeyListCmd(g),
		revokeCmd(g, "Revoke an API key (and every token it issued)", "/admin/keys/"))
	return cmd
}

func newKeyCreateCmd(g *globalFlags) *cobra.Command {
	var name, expiresIn string
	var scopes []string
	var asJWT bool
	var maxUses int64
	create := &cobra.Command{
		Use:   "create --name NAME [--scopes upload,pins:read,…]",
		Short: "Create an API key; its secret is printed once",
		Args:  cobra.NoArgs,
		RunE: withClient(g, func(cmd *cobra.Command, _ []string, c *apiClient) error {
			if asJWT {
				return createAccessJWT(cmd, g, c, api.AccessJWTRequest{Name: name, Scopes: scopes, ExpiresIn: jsonString(expiresIn), MaxUses: maxUses})
			}
			req := api.KeyRequest{Name: name}
			if cmd.Flags().Changed("scopes") {
				req.Scopes = &scopes
			}
			var k api.Key
			if err := c.do(cmd.Context(), "POST", "/admin/keys", req, &k); err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), k)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "created key %s (%s) with scopes %s; the secret below is shown once:\n", k.ID, k.Name, strings.Join(k.Scopes, ","))
			fmt.Fprintln(cmd.OutOrStdout(), k.Key)
			return nil
		}),
	}
	fl := create.Flags()
	fl.StringVar(&name, "name", "", "a name for the key (required)")
	fl.StringSliceVar(&scopes, "scopes", nil, "comma-separated scopes: upload, pins:read, pins:write, tokens:write, analytics:read, admin (default: all but admin)")
	fl.BoolVar(&asJWT, "jwt", false, "issue a scoped, expiring access JWT (signed by the server, verifiable with /.well-known/jwks.json) instead of an API key")
	fl.StringVar(&expiresIn, "expires-in", "1h", "with --jwt: lifetime, e.g. 1h, 7d (at most 30 days)")
	fl.Int64Var(&maxUses, "max-uses", 0, "with --jwt: how many requests it may make (0: unlimited)")
	create.MarkFlagRequired("name")
	return create
}

func newKeyListCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List API keys",
		Args:  cobra.NoArgs,
		RunE: withClient(g, func(cmd *cobra.Command, _ []string, c *apiClient) error {
			keys, err := listAll[api.Key](cmd.Context(), c, "/admin/keys")
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), keys)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tPREFIX\tSCOPES\tSTATUS\tCREATED")
			for _, k := range keys {
				status := "active"
				if k.Revoked {
					status = "revoked"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.Prefix, strings.Join(k.Scopes, ","), status, k.Created)
			}
			return tw.Flush()
		}),
	}
}

// createAccessJWT asks the server for an access JWT and prints it.
func createAccessJWT(cmd *cobra.Command, g *globalFlags, c *apiClient, req api.AccessJWTRequest) error {
	if len(req.Scopes) == 0 {
		return usageError{fmt.Errorf("--jwt needs --scopes")}
	}
	var out api.AccessJWTCreated
	if err := c.do(cmd.Context(), "POST", "/auth/jwt", req, &out); err != nil {
		return err
	}
	if g.json {
		return printJSON(cmd.OutOrStdout(), out)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "issued access JWT %s with scopes %s, expiring %s; revoke it with DELETE /auth/jwt/%s:\n",
		out.JTI, strings.Join(out.Scopes, ","), formatMillis(out.ExpiresAt), out.JTI)
	fmt.Fprintln(cmd.OutOrStdout(), out.Token)
	return nil
}

// jsonString is s as a JSON string value ("" gives nothing).
func jsonString(s string) []byte {
	if s == "" {
		return nil
	}
	b, _ := json.Marshal(s)
	return b
}

// formatMillis prints unix milliseconds as RFC 3339 in UTC.
func formatMillis(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339) }
