package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newAccountCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "account", Short: "Manage accounts"}
	cmd.AddCommand(&cobra.Command{
		Use:   "create NAME",
		Short: "Create an account",
		Args:  cobra.ExactArgs(1),
		RunE: withClient(g, func(cmd *cobra.Command, args []string, c *apiClient) error {
			var a json.RawMessage
			if err := c.do(cmd.Context(), "POST", "/admin/accounts", map[string]string{"name": args[0]}, &a); err != nil {
				return err
			}
			return printRaw(cmd, g, a, func(v map[string]any) string { return fmt.Sprintf("%s\t%s", v["id"], v["name"]) })
		}),
	}, &cobra.Command{
		Use:   "list",
		Short: "List accounts",
		Args:  cobra.NoArgs,
		RunE: withClient(g, func(cmd *cobra.Command, _ []string, c *apiClient) error {
			var list []map[string]any
			if err := c.do(cmd.Context(), "GET", "/admin/accounts", nil, &list); err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), list)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tCREATED")
			for _, a := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", a["id"], a["name"], a["created"])
			}
			return tw.Flush()
		}),
	})
	return cmd
}

func newKeyCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "key", Short: "Manage API keys (bws_…)"}
	var name, scopes, expiresIn string
	var asJWT bool
	var maxUses int64
	create := &cobra.Command{
		Use:   "create --name NAME [--scopes upload,pins:read,…]",
		Short: "Create an API key; its secret is printed once",
		Args:  cobra.NoArgs,
		RunE: withClient(g, func(cmd *cobra.Command, _ []string, c *apiClient) error {
			req := map[string]any{"name": name}
			if scopes != "" {
				req["scopes"] = splitList(scopes)
			}
			if asJWT {
				return createAccessJWT(cmd, g, c, req, expiresIn, maxUses)
			}
			var k map[string]any
			if err := c.do(cmd.Context(), "POST", "/admin/keys", req, &k); err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), k)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "created key %s (%s) with scopes %v; the secret below is shown once:\n", k["id"], k["name"], k["scopes"])
			fmt.Fprintln(cmd.OutOrStdout(), k["key"])
			return nil
		}),
	}
	create.Flags().StringVar(&name, "name", "", "a name for the key (required)")
	create.Flags().StringVar(&scopes, "scopes", "", "comma-separated scopes: upload, pins:read, pins:write, tokens:write, analytics:read, admin (default: all but admin)")
	create.Flags().BoolVar(&asJWT, "jwt", false, "issue a scoped, expiring access JWT (signed by the server, verifiable with /.well-known/jwks.json) instead of an API key")
	create.Flags().StringVar(&expiresIn, "expires-in", "1h", "with --jwt: lifetime, e.g. 1h, 7d (at most 30 days)")
	create.Flags().Int64Var(&maxUses, "max-uses", 0, "with --jwt: how many requests it may make (0: unlimited)")
	create.MarkFlagRequired("name")

	list := &cobra.Command{
		Use:   "list",
		Short: "List API keys",
		Args:  cobra.NoArgs,
		RunE: withClient(g, func(cmd *cobra.Command, _ []string, c *apiClient) error {
			var keys []map[string]any
			if err := c.do(cmd.Context(), "GET", "/admin/keys", nil, &keys); err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), keys)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tPREFIX\tSCOPES\tSTATUS\tCREATED")
			for _, k := range keys {
				status := "active"
				if k["revoked"] == true {
					status = "revoked"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k["id"], k["name"], k["prefix"], joinAny(k["scopes"]), status, k["created"])
			}
			return tw.Flush()
		}),
	}
	revoke := revokeCmd(g, "Revoke an API key (and every token it issued)", "/admin/keys/")

	cmd.AddCommand(create, list, revoke)
	return cmd
}

func joinAny(v any) string {
	list, _ := v.([]any)
	parts := make([]string, len(list))
	for i, x := range list {
		parts[i] = fmt.Sprint(x)
	}
	return strings.Join(parts, ",")
}

// printRaw prints a JSON answer as JSON with --json, else one line.
func printRaw(cmd *cobra.Command, g *globalFlags, raw json.RawMessage, line func(map[string]any) string) error {
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	if g.json {
		return printJSON(cmd.OutOrStdout(), v)
	}
	fmt.Fprintln(cmd.OutOrStdout(), line(v))
	return nil
}

// createAccessJWT asks the server for an access JWT and prints it.
func createAccessJWT(cmd *cobra.Command, g *globalFlags, c *apiClient, req map[string]any, expiresIn string, maxUses int64) error {
	if _, ok := req["scopes"]; !ok {
		return fmt.Errorf("--jwt needs --scopes")
	}
	req["expiresIn"] = expiresIn
	if maxUses > 0 {
		req["maxUses"] = maxUses
	}
	var out map[string]any
	if err := c.do(cmd.Context(), "POST", "/auth/jwt", req, &out); err != nil {
		return err
	}
	if g.json {
		return printJSON(cmd.OutOrStdout(), out)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "issued access JWT %s with scopes %v; revoke it with DELETE /auth/jwt/%s:\n", out["jti"], out["scopes"], out["jti"])
	fmt.Fprintln(cmd.OutOrStdout(), out["token"])
	return nil
}
