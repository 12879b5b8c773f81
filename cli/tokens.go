package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ninja-ipfs/ninja/api"
	"github.com/ninja-ipfs/ninja/token"
)

func newTokenCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage signed upload tokens (sup_…) for browsers and apps"}
	cmd.AddCommand(newTokenCreateCmd(g), newTokenListCmd(g),
		revokeCmd(g, "Revoke an upload token; its next use gets 401 TOKEN_REVOKED", "/signed-tokens/"))
	return cmd
}

// parseMB reads a size flag: a bare number is MiB, as the API's maxSizeMB
// ("50" is 50 MiB), or a number with a unit ("500KB", "2GiB"). It returns
// the size in MiB for the API.
func parseMB(flag, v string) (json.RawMessage, int64, error) {
	if v == "" {
		return nil, 0, nil
	}
	if _, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
		v += "MB"
	}
	n, err := token.ParseSize(v)
	if err != nil {
		return nil, 0, usageError{fmt.Errorf("--%s: %w", flag, err)}
	}
	return json.RawMessage(strconv.FormatFloat(float64(n)/token.MB, 'f', -1, 64)), n, nil
}

func newTokenCreateCmd(g *globalFlags) *cobra.Command {
	var (
		name, expiresIn, maxSize, maxTotal, fileName, issuer, publish string
		maxUploads                                                    int64
		mimes, ips, origins                                           []string
	)
	create := &cobra.Command{
		Use:   "create --name NAME --expires-in 1h [--max-uploads N --max-size 50 --mime image/* --ip CIDR --origin URL]",
		Short: "Create a signed upload token; it is printed once",
		Args:  cobra.NoArgs,
		RunE: withClient(g, func(cmd *cobra.Command, _ []string, c *apiClient) error {
			req := api.TokenRequest{Name: name, ExpiresIn: jsonString(expiresIn), MaxUploads: maxUploads,
				AllowedMimeTypes: mimes, IPWhitelist: ips, AllowedOrigins: origins, FileName: fileName, PublishName: publish}
			var err error
			if req.MaxSizeMB, _, err = parseMB("max-size", maxSize); err != nil {
				return err
			}
			if req.MaxTotalMB, _, err = parseMB("max-total", maxTotal); err != nil {
				return err
			}
			path := "/upload-tokens"
			if issuer != "" {
				path += "?key=" + url.QueryEscape(issuer)
			}
			var out api.TokenCreated
			if err := c.do(cmd.Context(), "POST", path, req, &out); err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), out)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "created token %s (%s): %s; the token below is shown once:\n",
				out.TokenID, out.TokenName, describeLimits(out.ExpiresAt, out.TokenLimits))
			fmt.Fprintln(cmd.OutOrStdout(), out.Token)
			return nil
		}),
	}
	fl := create.Flags()
	fl.StringVar(&name, "name", "", "a name for the token")
	fl.StringVar(&expiresIn, "expires-in", "1h", `lifetime: seconds or a duration like "30m", "1h", "7d" (at most 30 days)`)
	fl.Int64Var(&maxUploads, "max-uploads", 0, "how many uploads the token allows (0: unlimited)")
	fl.StringVar(&maxSize, "max-size", "", `largest file: MiB ("50"), or with a unit ("500KB", "2GB"; binary units)`)
	fl.StringVar(&maxTotal, "max-total", "", `bytes the token may upload in all, as --max-size`)
	fl.StringSliceVar(&mimes, "mime", nil, "allowed MIME types, wildcards allowed (image/*); repeat or comma-separate")
	fl.StringSliceVar(&ips, "ip", nil, "allowed client networks (CIDR or address, IPv4 or IPv6)")
	fl.StringSliceVar(&origins, "origin", nil, "allowed browser origins (https://app.example.com)")
	fl.StringVar(&fileName, "file-name", "", "bind every upload's name (the client cannot change it)")
	fl.StringVar(&publish, "publish-name", "", "let the token publish to this one IPNS name of the account (label or k51…): POST /names/NAME; the issuing key needs scope names")
	fl.StringVar(&issuer, "key", "", "id of the API key that issues the token (admin socket or database only; default: the account's oldest key with tokens:write)")
	return create
}

// describeLimits says in words what a token allows.
func describeLimits(expiresAt int64, l api.TokenLimits) string {
	parts := []string{"expires " + formatMillis(expiresAt)}
	if l.MaxUploads > 0 {
		parts = append(parts, fmt.Sprintf("%d uploads", l.MaxUploads))
	}
	if l.MaxSizeMB > 0 {
		parts = append(parts, "files up to "+human(int64(l.MaxSizeMB*token.MB)))
	}
	if l.MaxTotalMB > 0 {
		parts = append(parts, human(int64(l.MaxTotalMB*token.MB))+" in all")
	}
	if len(l.AllowedMimeTypes) > 0 {
		parts = append(parts, "types "+strings.Join(l.AllowedMimeTypes, ","))
	}
	if len(l.IPWhitelist) > 0 {
		parts = append(parts, "from "+strings.Join(l.IPWhitelist, ","))
	}
	if len(l.AllowedOrigins) > 0 {
		parts = append(parts, "origins "+strings.Join(l.AllowedOrigins, ","))
	}
	if l.FileName != "" {
		parts = append(parts, fmt.Sprintf("name %q", l.FileName))
	}
	if l.PublishName != "" {
		parts = append(parts, "may publish to /ipns/"+l.PublishName)
	}
	return strings.Join(parts, ", ")
}

func newTokenListCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List upload tokens with their usage",
		Args:  cobra.NoArgs,
		RunE: withClient(g, func(cmd *cobra.Command, _ []string, c *apiClient) error {
			tokens, err := listAll[api.Token](cmd.Context(), c, "/signed-tokens")
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), tokens)
			}
			return printTokens(cmd.OutOrStdout(), tokens)
		}),
	}
}

func printTokens(w io.Writer, tokens []api.Token) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tPREFIX\tSTATUS\tUSES\tUPLOADED\tFAILURES\tEXPIRES")
	for _, t := range tokens {
		uses := strconv.FormatInt(t.UseCount, 10)
		if t.MaxUploads > 0 {
			uses += "/" + strconv.FormatInt(t.MaxUploads, 10)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", t.TokenID, t.TokenName, t.TokenPrefix, t.Status, uses,
			human(t.BytesUploaded), t.FailureCount, formatMillis(t.ExpiresAt))
	}
	return tw.Flush()
}
