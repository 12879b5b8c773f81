package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ninja-ipfs/ninja/token"
)

func newTokenCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage signed upload tokens (sup_…) for browsers and apps"}
	cmd.AddCommand(newTokenCreateCmd(g), newTokenListCmd(g),
		revokeCmd(g, "Revoke an upload token; its next use gets 401 TOKEN_REVOKED", "/signed-tokens/"))
	return cmd
}

func newTokenCreateCmd(g *globalFlags) *cobra.Command {
	var (
		name, expiresIn, maxSize, maxTotal, fileName, issuer string
		maxUploads                                           int64
		mimes, ips, origins                                  []string
	)
	create := &cobra.Command{
		Use:   "create --name NAME --expires-in 1h [--max-uploads N --max-size 50MB --mime image/* --ip CIDR --origin URL]",
		Short: "Create a signed upload token; it is printed once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := map[string]any{"name": name, "expiresIn": expiresIn}
			if maxUploads > 0 {
				req["maxUploads"] = maxUploads
			}
			for flag, v := range map[string]string{"maxSizeMB": maxSize, "maxTotalMB": maxTotal} {
				if v == "" {
					continue
				}
				n, err := token.ParseSize(v)
				if err != nil {
					return fmt.Errorf("--max-size/--max-total: %w", err)
				}
				req[flag] = float64(n) / token.MB
			}
			if len(mimes) > 0 {
				req["allowedMimeTypes"] = mimes
			}
			if len(ips) > 0 {
				req["ipWhitelist"] = ips
			}
			if len(origins) > 0 {
				req["allowedOrigins"] = origins
			}
			if fileName != "" {
				req["fileName"] = fileName
			}
			c, err := connect(g)
			if err != nil {
				return err
			}
			defer c.close()
			path := "/upload-tokens"
			if issuer != "" {
				path += "?key=" + issuer
			}
			var out map[string]any
			if err := c.do(cmd.Context(), "POST", path, req, &out); err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), out)
			}
			exp := time.UnixMilli(int64(out["expiresAt"].(float64))).Format(time.RFC3339)
			fmt.Fprintf(cmd.ErrOrStderr(), "created token %s (%s), expires %s; the token below is shown once:\n", out["tokenId"], out["tokenName"], exp)
			fmt.Fprintln(cmd.OutOrStdout(), out["token"])
			return nil
		},
	}
	fl := create.Flags()
	fl.StringVar(&name, "name", "", "a name for the token")
	fl.StringVar(&expiresIn, "expires-in", "1h", `lifetime: seconds or a duration like "30m", "1h", "7d" (at most 30 days)`)
	fl.Int64Var(&maxUploads, "max-uploads", 0, "how many uploads the token allows (0: unlimited)")
	fl.StringVar(&maxSize, "max-size", "", `largest file, e.g. "50MB" (MB = MiB)`)
	fl.StringVar(&maxTotal, "max-total", "", "cumulative bytes the token may upload")
	fl.StringSliceVar(&mimes, "mime", nil, "allowed MIME types, wildcards allowed (image/*); repeat or comma-separate")
	fl.StringSliceVar(&ips, "ip", nil, "allowed client networks (CIDR or address, IPv4 or IPv6)")
	fl.StringSliceVar(&origins, "origin", nil, "allowed browser origins (https://app.example.com)")
	fl.StringVar(&fileName, "file-name", "", "bind every upload's name (the client cannot change it)")
	fl.StringVar(&issuer, "key", "", "id of the API key that issues the token (admin socket or database only; default: the account's oldest key with tokens:write)")
	return create
}

func newTokenListCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List upload tokens with their usage",
		Args:  cobra.NoArgs,
		RunE: withClient(g, func(cmd *cobra.Command, _ []string, c *apiClient) error {
			var tokens []map[string]any
			if err := c.do(cmd.Context(), "GET", "/signed-tokens", nil, &tokens); err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), tokens)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tPREFIX\tSTATUS\tUSES\tBYTES\tFAILURES\tEXPIRES")
			for _, t := range tokens {
				uses := fmt.Sprint(t["useCount"])
				if m, ok := t["maxUploads"].(float64); ok && m > 0 {
					uses += fmt.Sprintf("/%v", m)
				}
				exp := time.UnixMilli(int64(t["expiresAt"].(float64))).Format(time.RFC3339)
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\t%v\t%s\n", t["tokenId"], t["tokenName"], t["tokenPrefix"], t["status"], uses, t["bytesUploaded"], t["failureCount"], exp)
			}
			return tw.Flush()
		}),
	}
}
