package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/ninja-ipfs/ninja/api"
)

func newUploadCmd(g *globalFlags) *cobra.Command {
	var tok string
	var cidVersion int
	var name string
	cmd := &cobra.Command{
		Use:   "upload FILE|DIR… [--token sup_…]",
		Short: "Upload files or directories and print their CIDs",
		Long: `Upload each argument and print "CID  NAME" per argument. A directory is uploaded
as one directory (its CID is the directory's, as ipfs add -r gives). The server is
--server (default http://127.0.0.1:8080); the credential is --token (an upload
token) or --api-key. A progress bar is drawn on a terminal.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			server := g.server
			if server == "" {
				server = "http://127.0.0.1:8080"
			}
			auth := ""
			switch {
			case tok != "":
				auth = "Signed " + tok
			case g.apiKey != "":
				auth = "Bearer " + g.apiKey
			default:
				return errors.New("upload needs --token sup_… or --api-key bws_… (or NINJA_API_KEY)")
			}
			for _, arg := range args {
				res, err := uploadPath(cmd.Context(), server, auth, arg, name, cidVersion, cmd.ErrOrStderr())
				if err != nil {
					return fmt.Errorf("%s: %w", arg, err)
				}
				if g.json {
					if err := printJSON(cmd.OutOrStdout(), res); err != nil {
						return err
					}
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s  %s\n", res.CID, arg)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&tok, "token", "", "signed upload token (sup_…)")
	cmd.Flags().IntVar(&cidVersion, "cid-version", 1, "1: unixfs-v1-2025 (default), 0: unixfs-v0-2015")
	cmd.Flags().StringVar(&name, "name", "", "name recorded with the pin")
	return cmd
}

// uploadFile is one file of an upload: its path inside the upload and on disk.
type uploadFile struct {
	rel, path string
	size      int64
}

func collect(arg string) ([]uploadFile, int64, error) {
	fi, err := os.Stat(arg)
	if err != nil {
		return nil, 0, err
	}
	if !fi.IsDir() {
		return []uploadFile{{rel: filepath.Base(arg), path: arg, size: fi.Size()}}, fi.Size(), nil
	}
	base := filepath.Base(filepath.Clean(arg))
	var files []uploadFile
	var total int64
	err = filepath.WalkDir(arg, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(arg, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files = append(files, uploadFile{rel: base + "/" + filepath.ToSlash(rel), path: p, size: info.Size()})
		total += info.Size()
		return nil
	})
	if len(files) == 0 && err == nil {
		err = errors.New("the directory has no files")
	}
	return files, total, err
}

// uploadPath streams arg (a file or a directory) as one multipart request;
// nothing is read into memory whole.
func uploadPath(ctx context.Context, server, auth, arg, name string, cidVersion int, progress io.Writer) (api.UploadResult, error) {
	var out api.UploadResult
	files, total, err := collect(arg)
	if err != nil {
		return out, err
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	var sent atomic.Int64
	go func() {
		pw.CloseWithError(writeParts(mw, files, name, cidVersion, &sent))
	}()
	req, err := http.NewRequestWithContext(ctx, "POST", strings.TrimRight(server, "/")+"/upload", pr)
	if err != nil {
		return out, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", auth)

	stop := startProgress(progress, filepath.Base(arg), total, &sent)
	resp, err := http.DefaultClient.Do(req)
	stop()
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	err = decodeResponse(resp, &out)
	return out, err
}

func writeParts(mw *multipart.Writer, files []uploadFile, name string, cidVersion int, sent *atomic.Int64) error {
	if name != "" {
		if err := mw.WriteField("name", name); err != nil {
			return err
		}
	}
	if err := mw.WriteField("cidVersion", fmt.Sprint(cidVersion)); err != nil {
		return err
	}
	for _, f := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, f.rel))
		h.Set("Content-Type", "application/octet-stream")
		w, err := mw.CreatePart(h)
		if err != nil {
			return err
		}
		fh, err := os.Open(f.path)
		if err != nil {
			return err
		}
		_, err = io.Copy(w, &progressReader{r: fh, n: sent})
		fh.Close()
		if err != nil {
			return err
		}
	}
	return mw.Close()
}

type progressReader struct {
	r io.Reader
	n *atomic.Int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n.Add(int64(n))
	return n, err
}

// startProgress draws a progress bar on w while an upload runs, when w is
// a terminal; it returns the function that ends it.
func startProgress(w io.Writer, label string, total int64, sent *atomic.Int64) func() {
	f, ok := w.(*os.File)
	if !ok {
		return func() {}
	}
	if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			drawBar(f, label, sent.Load(), total)
			select {
			case <-done:
				drawBar(f, label, sent.Load(), total)
				fmt.Fprintln(f)
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}

func drawBar(w io.Writer, label string, n, total int64) {
	const width = 30
	frac := 1.0
	if total > 0 {
		frac = float64(n) / float64(total)
	}
	// A file that grows while it is sent sends more than it had.
	frac = min(max(frac, 0), 1)
	fill := int(frac * width)
	fmt.Fprintf(w, "\r%-20.20s [%s%s] %5.1f%% %s/%s", label, strings.Repeat("=", fill), strings.Repeat(" ", width-fill),
		frac*100, human(n), human(total))
}

func human(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f%ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
