package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ninja-ipfs/ninja/api"
	"github.com/ninja-ipfs/ninja/app"
)

func newBackupCmd(g *globalFlags) *cobra.Command {
	var verify bool
	cmd := &cobra.Command{
		Use:   "backup DEST",
		Short: "Back up the database, every pinned block and the secrets into DEST (incremental); --verify checks a backup",
		Long: `Backup writes a consistent backup of the data directory into DEST while the
server keeps serving: a snapshot of the database, every block reachable from the
snapshot's pins (garbage collection cannot delete them while they are copied)
and the secret keys. It runs inside the server on --data, through the admin
socket, or on the data directory directly when no server runs. DEST is on the
server's machine and must be writable by the server's user.

Into a directory holding an earlier backup it copies only the blocks not there
yet. DEST holds the secrets: keep it as private as the data directory.

  ninja backup /var/backups/ninja            # back up (again: incrementally)
  ninja backup --verify /var/backups/ninja   # check every block's hash and every pin's DAG
  ninja restore /var/backups/ninja --data /var/lib/ninja`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dest, err := filepath.Abs(args[0])
			if err != nil {
				return err
			}
			if verify {
				return verifyBackup(cmd, g, dest)
			}
			if g.server != "" {
				return usageError{errors.New("backup runs on the server's machine, through its admin socket: run it there without --server")}
			}
			return withClient(g, func(cmd *cobra.Command, _ []string, c *apiClient) error {
				return runBackup(cmd, g, c, dest)
			})(cmd, args)
		},
	}
	cmd.Flags().BoolVar(&verify, "verify", false, "check the backup in DEST instead of making one: every block file's hash, every pinned DAG whole, the secrets there (needs no server)")
	return cmd
}

// runBackup asks the server (or the in-process one) for a backup and
// follows its progress.
func runBackup(cmd *cobra.Command, g *globalFlags, c *apiClient, dest string) error {
	body, _ := json.Marshal(api.BackupRequest{Dest: dest})
	req, err := c.request(cmd.Context(), "POST", "/admin/backup", strings.NewReader(string(body)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return decodeResponse(resp, nil)
	}
	m, err := followBackup(resp.Body, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	if g.json {
		return printJSON(cmd.OutOrStdout(), m)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "backed up %d pins (%d CIDs): %d blocks, %s; copied %d blocks, %s, to %s\n",
		m.Pins, m.Roots, m.Blocks, human(m.Bytes), m.Copied, human(m.CopiedBytes), dest)
	if m.Missing > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "note: %d blocks of pins still fetching are not on the server yet, so not in the backup\n", m.Missing)
	}
	if m.Corrupt > 0 {
		return fmt.Errorf("%d blocks are corrupt in the data directory and were left out of the backup (the server's log names them)", m.Corrupt)
	}
	return nil
}

// followBackup reads the server's event lines until the manifest or an
// error, writing progress to w.
func followBackup(r io.Reader, w io.Writer) (api.BackupManifest, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var ev api.BackupEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return api.BackupManifest{}, fmt.Errorf("backup: unexpected answer %q", sc.Text())
		}
		switch {
		case ev.Error != nil:
			return api.BackupManifest{}, fmt.Errorf("backup failed: %s", ev.Error.Details)
		case ev.Done != nil:
			return *ev.Done, nil
		case ev.Progress != nil:
			fmt.Fprintf(w, "… %d blocks (%s), %d copied\n", ev.Progress.Blocks, human(ev.Progress.Bytes), ev.Progress.Copied)
		}
	}
	if err := sc.Err(); err != nil {
		return api.BackupManifest{}, fmt.Errorf("backup: %w", err)
	}
	return api.BackupManifest{}, errors.New("backup: the server ended the answer without a result (did it stop?)")
}

// verifyBackup is `ninja backup --verify DEST`.
func verifyBackup(cmd *cobra.Command, g *globalFlags, dir string) error {
	v, err := app.VerifyBackup(cmd.Context(), dir)
	if err != nil {
		return err
	}
	if g.json {
		if err := printJSON(cmd.OutOrStdout(), v); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(cmd.OutOrStdout(), "backup of %s (schema %d): %d pins, %d blocks, %s checked\n",
			v.Manifest.Created, v.Manifest.Schema, v.Manifest.Pins, v.Blocks, human(v.Bytes))
		for _, f := range v.Corrupt {
			fmt.Fprintf(cmd.OutOrStdout(), "corrupt block: %s\n", f)
		}
		for c, n := range v.Incomplete {
			fmt.Fprintf(cmd.OutOrStdout(), "incomplete pin: %s (%d blocks missing or corrupt)\n", c, n)
		}
		for _, p := range v.Problems {
			fmt.Fprintf(cmd.OutOrStdout(), "problem: %s\n", p)
		}
	}
	if !v.OK {
		return fmt.Errorf("the backup in %s is damaged: delete the corrupt block files it lists and run `ninja backup %s` again, which copies them anew", dir, dir)
	}
	if !g.json {
		fmt.Fprintln(cmd.OutOrStdout(), "ok")
	}
	return nil
}

func newRestoreCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "restore SRC --data DIR",
		Short: "Restore a backup into a new (or empty) data directory",
		Long: `Restore copies the backup in SRC (made by ninja backup) into the data directory
--data, which must not exist or be empty: stop the server, restore into a new
directory, and start ninja serve on it. Every block is checked against its hash
on the way. A backup made by an older ninja is migrated by the first start.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := app.Restore(cmd.Context(), args[0], g.dataDir)
			if err != nil {
				return err
			}
			if g.json {
				if err := printJSON(cmd.OutOrStdout(), res); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "restored the backup of %s into %s: %d pins, %d blocks, %s\n",
					res.Manifest.Created, g.dataDir, res.Manifest.Pins, res.Blocks, human(res.Bytes))
			}
			if len(res.Corrupt) > 0 {
				return fmt.Errorf("%d corrupt block files were left out (first: %s); the pins over them are incomplete", len(res.Corrupt), res.Corrupt[0])
			}
			return nil
		},
	}
}
